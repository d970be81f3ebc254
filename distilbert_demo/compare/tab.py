"""The Compare tab: layout and wiring only (the comparison is compare/core.py, drawn by
compare/figures.py and described by compare/views.py)."""

from __future__ import annotations

import gradio as gr

from .. import gpu, qa, registry, resources, variants
from ..gpu import on_gpu
from ..loading import ModelStore, Pair
from ..markup import notices
from ..measure import MIN_RUNS
from ..palette import TITLES
from ..registry import SIDES
from ..storage import build_cache
from ..tabs import (
    MODEL_QUEUE,
    PRESENTER_HIDE,
    example_picker,
    guarded,
    student_folder,
    validator,
    visitor_pair,
    wire_example_picker,
)
from . import core, figures, views

INPUTS = ["task", "text", "top_k", "repeats", "question", "student", "bert_variant", "distilbert_variant"]
MAX_EXAMPLES = max(len(texts) for texts in resources.examples().values())


def examples_of(task: str) -> list[list[str]]:
    """What the examples list shows for `task`, one line each (a click fills the boxes by index)."""
    return [[f"{question} · {text}" if task == "qa" else text] for _, text, question in _rows(task)]


def _rows(task: str) -> list[list[str]]:
    return [row for row in resources.example_rows() if row[0] == task]


def pick_example(task: str, index: int | None):
    """Fill the text (and the question) from the clicked example of the chosen task."""
    rows = _rows(task)
    if index is None or not 0 <= index < len(rows):
        return gr.skip(), gr.skip()
    _, text, question = rows[index]
    return text, question


def check(task, text, top_k, repeats, question="", student=None, bert_variant="fp32", distilbert_variant="fp32"):
    """What can be refused before any model runs (the page shows it next to the control at fault)."""
    for side, name in (("bert", bert_variant), ("distilbert", distilbert_variant)):
        variants.check_choice(task, side, name or "fp32", on_zero_gpu=gpu.ZERO_GPU)
    core.check_settings(int(top_k), int(repeats) or None)
    qa.check_task_input(registry.check_task(task), text, question)


def gpu_seconds(task, text, top_k, repeats, *rest) -> float:
    """What a comparison asks of ZeroGPU: loading and warm-up, then a few milliseconds a timed run."""
    return 20 + 0.05 * float(repeats or 0)


def compare_handler(store: ModelStore):
    """Build the /compare handler (the outputs as listed in its docstring)."""

    @on_gpu("compare", gpu_seconds)
    @guarded("running the models")
    def run(task, text, top_k, repeats, question, student_folder, bert_variant, distilbert_variant):
        """The model work (any process): the page's outputs as plain data."""
        pair = visitor_pair(store, task, student_folder)
        chosen = {"bert": bert_variant or "fp32", "distilbert": distilbert_variant or "fp32"}
        pair = Pair(pair.task, *(variants.as_variant(m, chosen[m.side], build_cache(m)) for m in pair.sides()))
        runs = int(repeats) or None  # 0: as many runs as fit in the timing budget
        result = core.compare_pair(pair, text, top_k=int(top_k), repeats=runs, question=question)
        reports = dict(zip(SIDES, (result.bert, result.distilbert)))
        answers = [
            views.answer_in_context(result.text, r.output.predictions) if task == "qa" else "" for r in reports.values()
        ]
        return (
            notices(result.notices + variants.costs(chosen)),
            views.summary(result),
            figures.predictions_figure(result.bert.output, "bert"),
            views.metrics_table(result.bert),
            figures.predictions_figure(result.distilbert.output, "distilbert", result.titles["distilbert"]),
            views.metrics_table(result.distilbert),
            figures.latency_figure(
                {s: r.latency.median_ms for s, r in reports.items()},
                {s: r.latency.p90_ms for s, r in reports.items()},
                result.measured_on,
                result.titles,
            ),
            *answers,
            result.to_dict(),
        )

    @guarded("running the models")
    def compare(
        task: str,
        text: str,
        top_k: float = core.DEFAULT_TOP_K,
        repeats: float = 0,
        question: str = "",
        student: str | None = None,
        bert_variant: str = "fp32",
        distilbert_variant: str = "fp32",
    ):
        """Run BERT and DistilBERT on the same text and compare them: both models' predictions,
        latency (median and p90, interleaved runs), parameters, weight and peak memory, and how
        much they agree. Bad input raises an error that says what is wrong.

        Args:
            task: "fill-mask" (put [MASK] where a word is missing), "sentiment" or "qa".
            text: the sentence; for "qa", the context the answer is taken from.
            top_k: how many candidates per [MASK] (or answers) to return, 1-20.
            repeats: timed runs per model; 0 times as many as fit in about 2 seconds (at least 5).
            question: for "qa" only, the question.
            student: a distilled student's handle (the page sets it); leave empty.
            bert_variant: how BERT runs: fp32, bf16, bf16-compiled, int8, onnx-fp32 or onnx-int8 (CPU).
            distilbert_variant: how DistilBERT runs, the same choices.

        Returns:
            notice, verdict (Markdown), BERT predictions chart, BERT metrics, DistilBERT predictions chart,
            DistilBERT metrics, latency chart, BERT answer and DistilBERT answer (qa), and the result as
            JSON: task, text, models.bert / models.distilbert (name, params, layers, weights_mb, latency_ms,
            peak_memory_mb, predictions), agreement, speedup and its interval, verdict, measured_on.
        """
        return run(task, text, top_k, repeats, question, student_folder(student), bert_variant, distilbert_variant)

    return compare


def _side_column(side: str):
    """One model's column: title, predictions chart, (qa) answer in context, metrics."""
    with gr.Column(elem_id=f"{side}-column"):
        gr.Markdown(f"## {TITLES[side]}", elem_classes="side-title")
        chart = gr.Plot(label=f"{TITLES[side]} predictions", elem_id=f"{side}-predictions")
        answer = gr.Markdown(label=f"{TITLES[side]} answer", elem_id=f"{side}-answer")
        metrics = gr.Markdown(label=f"{TITLES[side]} metrics", elem_id=f"{side}-metrics")
    return chart, answer, metrics


def compare_tab(store: ModelStore, student_state: gr.State) -> tuple[gr.Radio, gr.Textbox, gr.Textbox]:
    """Lay the tab out and wire it; returns (task, text, question) for links that fill an example."""
    with gr.Row():
        task = gr.Radio(list(registry.TASKS), value="fill-mask", label="Task", scale=1)
        # on stage the examples list below is hidden: numbers beside the task pick an example instead
        picker = example_picker("fill-mask", resources.examples()["fill-mask"][0], "", elem_id="compare-example")
        top_k = gr.Slider(
            1, core.MAX_TOP_K, value=core.DEFAULT_TOP_K, step=1, label="Top-k", scale=1, elem_classes=PRESENTER_HIDE
        )
        repeats = gr.Slider(
            0,
            core.MAX_REPEATS,
            value=0,
            step=1,
            label="Timed runs per model",
            info=f"0: as many as fit in {core.DEFAULT_BUDGET_S:g} s (at least {MIN_RUNS})",
            scale=1,
            elem_classes=PRESENTER_HIDE,
        )
        # "BERT fp32 vs DistilBERT int8" in one click; the choices and their trade-offs are the Ladder tab's.
        runnable = [v for v in variants.VARIANTS if variants.availability(v)[0]]
        bert_variant = gr.Dropdown(runnable, value="fp32", label="BERT runs as", scale=1, elem_id="bert-variant")
        distilbert_variant = gr.Dropdown(
            runnable, value="fp32", label="DistilBERT runs as", scale=1, elem_id="distilbert-variant"
        )
    with gr.Row(equal_height=True):  # Run beside the text: on a projector every line counts
        with gr.Column(scale=5, elem_id="compare-inputs"):  # on stage the question sits beside its context
            text = gr.Textbox(
                label="Text",
                value=resources.examples()["fill-mask"][0],
                placeholder="Type a sentence; for fill-mask put [MASK] where a word is missing.",
                lines=2,
                elem_id="input-text",
            )
            question = gr.Textbox(
                label="Question (question answering: the text above is the context)",
                value="",  # a default, so API callers of the other tasks can leave it out
                visible=False,
                elem_id="input-question",
            )
        run_button = gr.Button("Run", variant="primary", elem_id="run-button", scale=1)
    wire_example_picker(picker, task, text, question)
    # The chosen task's examples only (at most 5: one page); on stage, the picker or a link (?example=n).
    examples = gr.Dataset(
        label="Examples (click one)",
        components=[text],
        samples=examples_of("fill-mask"),
        type="index",
        samples_per_page=MAX_EXAMPLES,
        elem_id="compare-examples",
        elem_classes=PRESENTER_HIDE,
    )
    task.change(
        lambda t: (gr.update(visible=t == "qa"), gr.Dataset(samples=examples_of(t))),
        task,
        [question, examples],
        api_visibility="private",
    )
    examples.click(pick_example, inputs=[task, examples], outputs=[text, question], api_visibility="private")
    notice = gr.Markdown(label="Notice", elem_id="notice")
    verdict = gr.Markdown(label="Verdict", elem_id="verdict", elem_classes="verdict")
    with gr.Row(equal_height=False):
        bert_fig, bert_answer, bert_metrics = _side_column("bert")
        distil_fig, distil_answer, distil_metrics = _side_column("distilbert")
    latency_fig = gr.Plot(label="Latency chart", elem_id="latency-chart")
    with gr.Accordion("Raw result (JSON)", open=False, elem_classes=PRESENTER_HIDE):
        raw = gr.JSON(label="Result")

    outputs = [notice, verdict, bert_fig, bert_metrics, distil_fig, distil_metrics, latency_fig]
    outputs += [bert_answer, distil_answer, raw]
    wiring = {
        "fn": compare_handler(store),
        "inputs": [task, text, top_k, repeats, question, student_state, bert_variant, distilbert_variant],
        "outputs": outputs,
        "concurrency_limit": 1,
        "concurrency_id": MODEL_QUEUE,
        "validator": validator(INPUTS, check, blame="text"),
    }
    run_button.click(**wiring, api_name="compare")
    text.submit(**wiring, api_visibility="private")  # Enter in the box: same handler, one API name
    return task, text, question
