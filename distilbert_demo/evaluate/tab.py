"""The Evaluate tab: layout and wiring only (the evaluation is evaluate/core.py, its figures
evaluate/figures.py, its text evaluate/views.py)."""

from __future__ import annotations

import gradio as gr

from .. import registry
from ..gpu import on_gpu
from ..inputs import UPLOAD_LIMIT_TEXT
from ..kept import KEPT
from ..labelled import LABELS, load_labelled_file
from ..loading import ModelStore
from ..markup import esc
from ..storage import SESSION_TTL_S, STORAGE
from ..tabs import HEAVY_QUEUE, PRESENTER_HIDE, error_markdown, guarded, session_of, validator
from . import core, figures, views

CSV_TOKENS_CAP = 30  # disagreements whose top tokens go into the CSV (gradient x input: one backward each)
REEL_STEPS = 20  # integrated-gradients steps per reel case: a few seconds on bert-base, delta shown
BEFORE_REEL = "Press **Evaluate** (the *Results* view): the reel then holds every example the two models disagree on."
EMPTY_REEL = "No disagreements to show: run an evaluation (or the two models agree on every example)."


def evaluate_handler(store: ModelStore):
    @on_gpu("evaluate", 60)  # the labelled set through both models, then the first disagreements' tokens
    @guarded("evaluating")
    def run(upload, progress=None):
        """The model work (any process): the page's outputs, and the cases to offer as a CSV."""

        def report(desc: str, unit: str):
            return lambda done, total: progress((done, total), desc=desc, unit=unit) if progress is not None else None

        data = load_labelled_file(upload)
        pair = store.pair("sentiment")
        result = core.evaluate(pair, data, progress=report("labelling", "batches"))
        reel = result.reel()
        tokens = core.top_tokens(
            pair, reel[:CSV_TOKENS_CAP], progress=report("top tokens of the disagreements", "examples")
        )
        labels = list(LABELS)
        return (
            views.summary_table(result),
            figures.confusion_figure(result.bert.confusion(), labels, "bert", result.bert.accuracy),
            figures.confusion_figure(result.distilbert.confusion(), labels, "distilbert", result.distilbert.accuracy),
            result.cases(),
            None,  # the CSV: the server's to write (evaluate)
            result.to_dict(),
            reel,  # the server keeps it (evaluate)
        ), result.cases_with_tokens(tokens, "gxi")

    @guarded("evaluating")
    def evaluate(upload: str | None = None, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        """Label every example of a labelled set with both sentiment models: each one's accuracy with a
        95% Wilson interval, the retention (DistilBERT / BERT accuracy; undefined near chance), how often
        they agree, confusion matrices, speed, and the examples where they disagree or are wrong.

        Args:
            upload: a CSV with columns text,label (positive/negative), 2 MiB at most; empty: the shipped set.

        Returns:
            summary, BERT and DistilBERT confusion matrices, the cases table, its CSV (with each model's
            top attributed tokens, gradient x input, for the first disagreements), and the result as JSON
            (per model accuracy, ci95, confusion, examples_per_second; retention, agreement, verdict).
        """
        shown, cases = run(upload, progress)
        visitor = session_of(request)
        csv = STORAGE.download(visitor, "disagreements_and_errors.csv", cases.to_csv(index=False).encode())
        reel = KEPT.put(visitor, shown[6])  # the page keeps a key; the reel stays here, within the budget
        return (*shown[:4], str(csv), shown[5], reel, 0)

    return evaluate


def reel_handler(store: ModelStore):
    @on_gpu("reel", 30)  # integrated gradients (REEL_STEPS) and attention for one sentence, both models
    @guarded("explaining the disagreement")
    def explain_case(case: core.ReelCase, position: int, total: int):
        """The model work (any process): one case's text, saliency and aligned attention."""
        shown = core.reel_view(store.pair("sentiment"), case, REEL_STEPS)
        return (
            views.reel_position(case, position, total),
            views.reel_case(case, shown.saliency.untrained),
            figures.saliency_figure(shown.saliency),
            views.reel_explained(shown.saliency),
            figures.aligned_attention_figure(shown.attention),
        )

    @guarded("explaining the disagreement")
    def show(reel_key: str | None, position: int, request: gr.Request = None):
        """One disagreement of the reel: the text, both predictions, both models' token saliency
        (integrated gradients) and the attention of DistilBERT's last layer next to its BERT layer."""
        try:
            reel = KEPT.get(session_of(request), reel_key, again="Evaluate") if reel_key else []
        except LookupError as expired:
            return gr.skip(), error_markdown(str(expired)), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        if not reel:
            return EMPTY_REEL, "", None, "", None, 0
        position = max(0, min(int(position or 0), len(reel) - 1))  # Next at the last case stays there
        return (*explain_case(reel[position], position, len(reel)), position)

    return show


def evaluate_tab(store: ModelStore) -> gr.Tabs:
    """Two views: the results (accuracies, confusion, cases) and the disagreement reel, a view of its
    own so that a case, both predictions and both saliency rows fit one projector screen. Returns
    the views' tabs (a link opens the reel: links.py)."""
    run = evaluate_handler(store)
    names = [
        registry.resolve_source("sentiment", side, store.overrides.get(("sentiment", side))) for side in registry.SIDES
    ]
    shipped = load_labelled_file(None)
    with gr.Tabs(elem_id="evaluate-views") as views_tabs:
        with gr.Tab("Results", id="evaluate-results", elem_id="evaluate-results"):
            gr.Markdown(
                "The paper's headline is *97% of BERT's performance*. One sentence cannot show that; a labelled "
                f"set can. Both sentiment models ({esc(names[0])} and {esc(names[1])}) label every example of "
                f"the shipped set ({len(shipped)} sentences, {shipped.labels.count('positive')} positive and "
                f"{shipped.labels.count('negative')} negative, with negation and sarcasm) or of your CSV. "
                "The **Disagreement reel** view then steps through the examples they disagree on.",
                elem_classes=PRESENTER_HIDE,
            )
            with gr.Row():
                upload = gr.File(
                    label=f"Your labelled set (optional): CSV with columns text,label (positive/negative), "
                    f"{UPLOAD_LIMIT_TEXT} at most",
                    file_types=[".csv"],
                    type="filepath",
                    scale=3,
                    elem_classes=PRESENTER_HIDE,  # on stage: the shipped set
                )
                run_button = gr.Button("Evaluate", variant="primary", elem_id="evaluate-run", scale=1)
            summary = gr.Markdown(label="Summary", elem_id="evaluate-summary", elem_classes="verdict")
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
        with gr.Tab("Disagreement reel", id="evaluate-reel", elem_id="evaluate-reel"):
            gr.Markdown(
                "Where the two models disagree (so one of them is wrong), the wrong model's most confident "
                "first: why each answered as it did.",
                elem_classes=PRESENTER_HIDE,
            )
            with gr.Column(elem_id="reel-case"):  # the buttons, where the case stands, the case
                with gr.Row(equal_height=True):
                    previous = gr.Button("◀ Previous", elem_id="reel-previous", size="md", scale=0, min_width=170)
                    where = gr.Markdown(BEFORE_REEL, elem_id="reel-position")
                    following = gr.Button(
                        "Next ▶", elem_id="reel-next", size="md", variant="primary", scale=0, min_width=170
                    )
                case_text = gr.Markdown(elem_id="reel-text", elem_classes="verdict")
            shown = [
                where,
                case_text,
                gr.Plot(label="Saliency", elem_id="reel-saliency"),
                gr.Markdown(elem_id="reel-explained", elem_classes=PRESENTER_HIDE),
                gr.Plot(label="Aligned attention", elem_id="reel-attention"),
            ]
    reel = gr.State(None, time_to_live=SESSION_TTL_S)  # a key to the reel (kept.py)
    position = gr.State(0, time_to_live=SESSION_TTL_S)
    show = reel_handler(store)
    run_button.click(
        run,
        inputs=upload,
        validator=validator(["upload"], lambda upload=None: load_labelled_file(upload), blame="upload", heavy=True),
        outputs=[summary, bert_confusion, distil_confusion, cases, cases_file, raw, reel, position],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="evaluate",
    ).then(
        show, inputs=[reel, position], outputs=[*shown, position], concurrency_id=HEAVY_QUEUE, api_visibility="private"
    )
    for button, step in ((previous, -1), (following, 1)):
        button.click(
            lambda p, step=step: max(0, p + step),
            inputs=position,
            outputs=position,
            queue=False,
            api_visibility="private",
        ).then(
            show,
            inputs=[reel, position],
            outputs=[*shown, position],
            concurrency_id=HEAVY_QUEUE,
            show_progress="minimal",  # the case on screen stays until the next one is explained
            show_progress_on=shown[1],
            api_visibility="private",
        )
    return views_tabs
