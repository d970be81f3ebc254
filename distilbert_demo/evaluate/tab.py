"""The Evaluate tab: layout and wiring only (the evaluation is evaluate/core.py, its figures
evaluate/figures.py, its text evaluate/views.py)."""

from __future__ import annotations

import gradio as gr

from .. import gpu, registry
from ..gpu import on_gpu
from ..inputs import UPLOAD_LIMIT_TEXT
from ..loading import ModelStore
from ..markup import esc
from ..storage import STORAGE
from ..tabs import HEAVY_QUEUE, PRESENTER_HIDE, guarded, session_of, validator
from . import core, figures, views


def evaluate_handler(store: ModelStore):
    @on_gpu("evaluate", gpu.evaluate_seconds)
    @guarded("evaluating")
    def evaluate(upload: str | None = None, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        """Label every example of a labelled set with both sentiment models: each one's accuracy with a
        95% Wilson interval, the retention (DistilBERT / BERT accuracy; undefined near chance), how often
        they agree, confusion matrices, speed, and the examples where they disagree or are wrong.

        Args:
            upload: a CSV with columns text,label (positive/negative), 2 MiB at most; empty: the shipped set.

        Returns:
            summary, BERT and DistilBERT confusion matrices, the cases table, its CSV, and the result as
            JSON (per model accuracy, ci95, confusion, examples_per_second; retention, agreement, verdict).
        """
        data = core.load_labelled_file(upload)
        result = core.evaluate(
            store.pair("sentiment"),
            data,
            progress=lambda done, total: progress((done, total), desc="labelling", unit="batches"),
        )
        cases = result.cases()
        csv_path = STORAGE.download(session_of(request), "disagreements_and_errors.csv")
        cases.to_csv(csv_path, index=False)
        labels = list(core.LABELS)
        return (
            views.summary_table(result),
            figures.confusion_figure(result.bert.confusion(), labels, "bert", result.bert.accuracy),
            figures.confusion_figure(result.distilbert.confusion(), labels, "distilbert", result.distilbert.accuracy),
            cases,
            str(csv_path),
            result.to_dict(),
        )

    return evaluate


def evaluate_tab(store: ModelStore) -> None:
    run = evaluate_handler(store)
    names = [
        registry.resolve_source("sentiment", side, store.overrides.get(("sentiment", side))) for side in registry.SIDES
    ]
    shipped = core.load_labelled_file(None)
    gr.Markdown(
        "The paper's headline is *97% of BERT's performance*. One sentence cannot show that; a labelled set can. "
        f"Both sentiment models ({esc(names[0])} and {esc(names[1])}) label every example of the shipped set "
        f"({len(shipped)} sentences, {shipped.labels.count('positive')} positive and "
        f"{shipped.labels.count('negative')} negative, with negation and sarcasm) or of your CSV.",
        elem_classes=PRESENTER_HIDE,
    )
    with gr.Row():
        upload = gr.File(
            label=f"Your labelled set (optional): CSV with columns text,label (positive/negative), "
            f"{UPLOAD_LIMIT_TEXT} at most",
            file_types=[".csv"],
            type="filepath",
            scale=3,
        )
        run_button = gr.Button("Evaluate", variant="primary", elem_id="evaluate-run", scale=1)
    summary = gr.Markdown(label="Summary", elem_id="evaluate-summary")
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
    with gr.Accordion("Raw result (JSON)", open=False, elem_classes=PRESENTER_HIDE):
        raw = gr.JSON(label="Evaluation result")
    run_button.click(
        run,
        inputs=upload,
        validator=validator(["upload"], lambda upload=None: core.load_labelled_file(upload), blame="upload"),
        outputs=[summary, bert_confusion, distil_confusion, cases, cases_file, raw],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="evaluate",
    )
