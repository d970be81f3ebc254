"""The Explain tab: layout and wiring only (attribution is explain/core.py, drawn by
explain/figures.py and described by explain/views.py)."""

from __future__ import annotations

import gradio as gr

from .. import qa, registry, resources
from ..gpu import on_gpu
from ..loading import ModelStore
from ..markup import notices
from ..tabs import HEAVY_QUEUE, PRESENTER_HIDE, controls, example_picker, guarded, validator, wire_example_picker
from . import core, figures, views

INPUTS = ["task", "text", "question", "method", "steps"]
METHOD_CHOICES = [(name, key) for key, name in core.METHODS.items()]  # the page shows the names


def check(task, text, question="", method="ig", steps=core.DEFAULT_STEPS) -> None:
    core.check_settings(method, int(steps))
    qa.check_task_input(registry.check_task(task), text, question)


def gpu_seconds(task, text, question="", method="ig", steps=core.DEFAULT_STEPS, *rest, **kwargs) -> float:
    """Both models, forward and backward on every interpolation step (two targets for qa)."""
    return 20 + (0.2 * float(steps) if method == "ig" else 2)


def explain_handler(store: ModelStore):
    @on_gpu("explain", gpu_seconds)
    @guarded("attributing")
    def explain(
        task: str,
        text: str,
        question: str = "",
        method: str = core.ExplainSettings.method,
        steps: float = core.ExplainSettings.steps,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects its progress tracker
    ):
        """Token saliency for BERT and DistilBERT on the same input (Captum): how much each token pushed
        each model toward its own prediction (the label; the token at the first [MASK]; the chosen
        span's start and end for qa). Attributions are to that logit, at the word embeddings, one per
        token with [CLS] and [SEP] included.

        Args:
            task: "sentiment", "fill-mask" or "qa".
            text: the sentence; for "qa", the context.
            question: for "qa" only, the question.
            method: "ig" (integrated gradients from a [PAD] baseline; reports its convergence delta) or
                "gxi" (gradient x input: fast, no completeness guarantee).
            steps: integration steps for "ig" (1-500): more steps, a smaller delta.

        Returns:
            notice, the saliency rows (figure), a summary (top tokens and completeness per model), and
            the result as JSON: models.bert / models.distilbert with tokens, attributions, target,
            method and delta (qa: the start, with the end under "end").
        """
        result = core.explain(
            store.pair(task),
            text,
            method,
            int(steps),
            question,
            progress=lambda done, total: progress((done, total), desc="attributing", unit="models"),
        )
        return notices(result.notices), figures.saliency_figure(result.rows), views.summary(result), result.to_dict()

    return explain


def explain_tab(store: ModelStore) -> tuple[gr.Radio, gr.Textbox, gr.Textbox]:
    gr.Markdown(
        "Where the points go: which tokens pushed each model toward its answer, for the same input. "
        "Integrated gradients (Captum) from a baseline where every token but [CLS] and [SEP] is [PAD]; "
        "their sum equals the change of the answer's logit from that baseline, up to the convergence delta "
        "shown next to each row. Runs outside every timing, one model at a time.",
        elem_classes=PRESENTER_HIDE,
    )
    with gr.Row():
        task = gr.Radio(list(registry.TASKS), value="sentiment", label="Task", elem_id="explain-task")
        picker = example_picker("sentiment", resources.examples()["sentiment"][0], "", elem_id="explain-example")
        made = controls(core.ExplainSettings, ["method"], "explain", choices={"method": METHOD_CHOICES})
        with gr.Column(elem_classes=PRESENTER_HIDE):
            made.update(controls(core.ExplainSettings, ["steps"], "explain"))
    method, steps = made["method"], made["steps"]
    with gr.Row(equal_height=True):
        with gr.Column(scale=5):
            text = gr.Textbox(label="Text", value=resources.examples()["sentiment"][0], lines=2, elem_id="explain-text")
            question = gr.Textbox(label="Question (qa)", value="", visible=False, elem_id="explain-question")
        run = gr.Button("Explain", variant="primary", elem_id="explain-run", scale=1)
    wire_example_picker(picker, task, text, question)
    task.change(lambda t: gr.update(visible=t == "qa"), task, question, api_visibility="private")
    notice = gr.Markdown(label="Notice", elem_id="explain-notice")
    figure = gr.Plot(label="Saliency", elem_id="explain-figure")
    summary = gr.Markdown(label="Summary", elem_id="explain-summary", elem_classes="verdict")
    with gr.Accordion("Raw result (JSON)", open=False, elem_classes=PRESENTER_HIDE):
        raw = gr.JSON(label="Explanation")
    run.click(
        explain_handler(store),
        inputs=[task, text, question, method, steps],
        outputs=[notice, figure, summary, raw],
        validator=validator(INPUTS, check, blame="text", heavy=True),
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="explain",
    )
    return task, text, question
