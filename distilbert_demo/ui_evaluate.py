"""The Evaluate tab: layout and wiring only (the evaluation itself is evaluate.py)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr

from . import evaluate, plots, registry, views
from .inputs import InputError
from .loading import ModelStore
from .ui_jobs import HEAVY_QUEUE

log = logging.getLogger(__name__)


def summary_table(result: evaluate.Evaluation) -> str:
    rows = []
    for title, model in (("BERT", result.bert), ("DistilBERT", result.distilbert)):
        low, high = model.ci95
        rows.append(
            f"| {title} | {views.esc(model.name)} | {model.accuracy:.1%} | {low:.1%} – {high:.1%} | "
            f"{model.seconds:.2f} s | {model.examples_per_second:.1f} |"
        )
    return (
        f"### {views.esc(result.verdict())}\n\n"
        "| | Checkpoint | Accuracy | 95% CI (Wilson) | Time | Examples / s |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\n**Retention** (DistilBERT / BERT accuracy): {result.retention:.1%} · "
        f"**agreement** between the two: {result.agreement:.1%} · {len(result.data)} examples "
        f"from {views.esc(result.data.name)}. <small>Time: the models' forward passes, in batches of "
        "similar length, the two models alternating batch by batch.</small>"
    )


def evaluate_handler(store: ModelStore):
    def run(upload, progress=gr.Progress()):  # noqa: B008 - how Gradio injects its progress tracker
        """(optional CSV) -> summary, two confusion matrices, the cases table, its CSV, JSON."""
        try:
            data = evaluate.load_labelled_file(upload)
            result = evaluate.evaluate(
                store.pair("sentiment"),
                data,
                progress=lambda done, total: progress((done, total), desc="labelling", unit="batches"),
            )
        except InputError as err:
            return (views.notices([str(err)], error=True), None, None, None, None, {"error": str(err)})
        except Exception:  # noqa: BLE001 - the page gets a message, the log gets the traceback
            log.exception("evaluation failed")
            message = "Something went wrong during the evaluation; the error was logged. Please try again."
            return (views.notices([message], error=True), None, None, None, None, {"error": message})
        cases = result.cases()
        csv_path = Path(tempfile.mkdtemp(prefix="evaluate-")) / "disagreements_and_errors.csv"
        cases.to_csv(csv_path, index=False)
        labels = list(evaluate.LABELS)
        return (
            summary_table(result),
            plots.confusion_figure(result.bert.confusion(), labels, "bert", result.bert.accuracy),
            plots.confusion_figure(result.distilbert.confusion(), labels, "distilbert", result.distilbert.accuracy),
            cases,
            str(csv_path),
            result.to_dict(),
        )

    return run


def evaluate_tab(store: ModelStore) -> None:
    run = evaluate_handler(store)
    names = [
        registry.resolve_source("sentiment", side, store.overrides.get(("sentiment", side))) for side in registry.SIDES
    ]
    gr.Markdown(
        "The paper's headline is *97% of BERT's performance*. One sentence cannot show that; a labelled set can. "
        f"Both sentiment models ({views.esc(names[0])} and {views.esc(names[1])}) label every "
        "example of the shipped set (248 sentences, balanced, with negation and sarcasm) or of your CSV."
    )
    with gr.Row():
        upload = gr.File(
            label="Your labelled set (optional): CSV with columns text,label (positive/negative), 2 MiB at most",
            file_types=[".csv"],
            type="filepath",
            scale=3,
        )
        run_button = gr.Button("Evaluate", variant="primary", elem_id="evaluate-run", scale=1)
    summary = gr.Markdown(elem_id="evaluate-summary")
    with gr.Row(equal_height=False):
        bert_confusion = gr.Plot(label="BERT confusion matrix", elem_id="evaluate-bert-confusion")
        distil_confusion = gr.Plot(label="DistilBERT confusion matrix", elem_id="evaluate-distilbert-confusion")
    cases = gr.Dataframe(
        label="Where they disagree or are wrong (click a header to sort)",
        elem_id="evaluate-cases",
        max_height=420,
        wrap=True,
        column_widths=["40%", "10%", "10%", "10%", "15%", "15%"],
        show_search="search",
    )
    cases_file = gr.File(label="Those examples (CSV)", elem_id="evaluate-csv")
    with gr.Accordion("Raw result (JSON)", open=False):
        raw = gr.JSON(label="Evaluation result")
    run_button.click(
        run,
        inputs=upload,
        outputs=[summary, bert_confusion, distil_confusion, cases, cases_file, raw],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="evaluate",
    )
