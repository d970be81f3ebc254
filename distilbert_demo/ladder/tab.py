"""The Ladder tab: layout and wiring only (the ladder is ladder/core.py, its chart
ladder/figures.py, its table and text ladder/views.py)."""

from __future__ import annotations

import gradio as gr

from .. import variants
from ..loading import ModelStore
from ..storage import STORAGE, build_cache
from ..tabs import HEAVY_QUEUE, PRESENTER_HIDE, controls, guarded, session_of, validator
from . import core, figures, views

INPUTS = ["task", "seq_len", "chosen", "budget_s"]


def ladder_handler(store: ModelStore):
    @guarded("climbing the ladder")
    def ladder(
        task: str = core.LadderSettings.task,
        seq_len: float = core.LadderSettings.seq_len,
        chosen: list[str] | None = None,
        budget_s: float = core.LadderSettings.budget_s,
        request: gr.Request = None,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects its progress tracker
    ):
        """The compression ladder, on the CPU: BERT and DistilBERT in each variant (fp32, bf16,
        bf16-compiled, int8, int8-compiled, onnx-fp32, onnx-int8), with latency (median, p90), speed-up
        over BERT fp32, size on disk, peak memory, and what each keeps: accuracy with a 95% interval,
        retention, top-1 agreement with the same model in fp32, and the largest and median logit
        differences from it (the median read against fp32's logit spread judges the rungs where
        accuracy cannot). A variant this machine cannot run is listed with its reason.

        Args:
            task: "sentiment" (accuracy on the labelled set) or "fill-mask" (masked-word recovery).
            seq_len: tokens of the timed input (8-512).
            chosen: the variants to build (fp32 is always built: it is the reference); empty: all.
            budget_s: seconds of timing for all variants together.

        Returns:
            the verdict, the Pareto chart, the table, how it was measured, the DistilBERT int8 ONNX bundle
            (zip: model + tokenizer) when onnx-int8 was built, and the ladder as JSON (rows, frontier).
        """
        steps = iter(range(1, 100))
        result = core.ladder(
            store.pair(task),
            build_cache(store.pair(task).bert),
            list(chosen or variants.VARIANTS),
            int(seq_len),
            budget_s=float(budget_s),
            progress=lambda what: progress((next(steps), 2 * len(chosen or variants.VARIANTS) + 1), desc=what),
        )
        bundle = None
        if any(r.model == "distilbert" and r.variant == "onnx-int8" and r.available for r in result.rows):
            bundle = STORAGE.download(session_of(request), f"distilbert-{task}-onnx-int8.zip")
            core.onnx_bundle(store.pair(task).distilbert, build_cache(store.pair(task).distilbert), bundle)
        return (
            views.verdict(result),
            figures.pareto_figure(result, core.KEEP, core.FIDELITY_LIMIT),
            views.table(result),
            views.details(result),
            None if bundle is None else str(bundle),
            result.to_dict(),
        )

    return ladder


def ladder_tab(store: ModelStore) -> None:
    runnable = [v for v in variants.VARIANTS if variants.availability(v)[0]]
    refused = {v: variants.availability(v)[1] for v in variants.VARIANTS if v not in runnable}
    gr.Markdown(
        "How far past DistilBERT a CPU can go: each model in every precision and runtime, measured side by side, "
        "with the accuracy each keeps (the page never shows a speed without it). Runs on the CPU; building the "
        "ONNX exports and the compiled variants takes minutes the first time on a machine (they are kept on disk for "
        "the next runs and restarts)." + "".join(f"\n- **{v}** unavailable here: {why}" for v, why in refused.items()),
        elem_classes=PRESENTER_HIDE,
    )
    with gr.Row():
        made = controls(core.LadderSettings, ["task", "seq_len"], "ladder")
        with gr.Column(elem_classes=PRESENTER_HIDE):
            made.update(controls(core.LadderSettings, ["budget_s"], "ladder"))
    task, seq_len, budget = made["task"], made["seq_len"], made["budget_s"]
    chosen = gr.CheckboxGroup(
        list(variants.VARIANTS),
        value=runnable,
        label="Variants",
        elem_id="ladder-variants",
        elem_classes=PRESENTER_HIDE,  # on stage every runnable rung is climbed: room for the chart
    )
    run = gr.Button("Climb the ladder", variant="primary", elem_id="ladder-run")
    verdict = gr.Markdown(label="Verdict", elem_id="ladder-verdict", elem_classes="verdict")
    chart = gr.Plot(label="Pareto chart", elem_id="ladder-chart")
    table = gr.Dataframe(headers=views.COLUMNS, label="Every model and variant", elem_id="ladder-table", wrap=True)
    details = gr.Markdown(label="How it was measured", elem_id="ladder-details", elem_classes=PRESENTER_HIDE)
    bundle = gr.File(
        label="Take it with you: DistilBERT int8 for ONNX Runtime (zip: model.onnx + tokenizer)",
        elem_id="ladder-bundle",
    )
    with gr.Accordion("Raw result (JSON)", open=False, elem_classes=PRESENTER_HIDE):
        raw = gr.JSON(label="Ladder result")
    run.click(
        ladder_handler(store),
        inputs=[task, seq_len, chosen, budget],
        validator=validator(
            INPUTS,
            lambda task, seq_len, chosen, budget_s: core.check_settings(
                task, seq_len, budget_s, ["fp32", *(chosen or [])]
            ),
            blame="chosen",
            heavy=True,
            busy="task",  # on stage the variants are hidden, the task is not
        ),
        outputs=[verdict, chart, table, details, bundle, raw],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="ladder",
    )
