"""The Distill tab: layout and wiring only (the run itself is distill_session / distill)."""

from __future__ import annotations

import logging

import gradio as gr

from . import distill_plots, distill_session, registry, views
from .distill import DistillConfig, bf16_is_fast
from .inputs import InputError
from .loading import ModelStore
from .ui_jobs import HEAVY_QUEUE, StopFlags

log = logging.getLogger(__name__)

# Session -> stop flag of that visitor's running distillation (module level so that tests and
# operators can see what is running).
ACTIVE_RUNS = StopFlags()
_DEFAULTS = DistillConfig()


def distill_handlers(store: ModelStore):
    """start (a generator: live curves), stop, and use-this-student."""

    def start(
        pasted,
        upload,
        layers_text,
        steps,
        batch_size,
        seq_len,
        temperature,
        alpha_ce,
        alpha_mlm,
        alpha_cos,
        lr,
        bf16,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects its progress tracker
    ):
        """Yields (status, loss figure, agreement figure, summary, archive, finished student, use button)."""
        nothing = (None, None, "", None, None, gr.update(visible=False))
        teacher = store.pair("fill-mask").bert
        try:
            config = DistillConfig(
                steps=int(steps),
                batch_size=int(batch_size),
                seq_len=int(seq_len),
                temperature=float(temperature),
                alpha_ce=float(alpha_ce),
                alpha_mlm=float(alpha_mlm),
                alpha_cos=float(alpha_cos),
                lr=float(lr),
                bf16=bool(bf16),
            )
            distiller = distill_session.make_distiller(teacher, config, layers_text, pasted, upload)
        except (InputError, ValueError, TypeError) as err:
            yield (views.notices([str(err)], error=True), *nothing)
            return
        session, stop = ACTIVE_RUNS.start(request)
        try:
            for report in distiller.run(stop):
                progress((report.step, report.steps), desc="distilling", unit="steps")
                yield (
                    distill_session.progress_markdown(report),
                    distill_plots.loss_figure(distiller.result.history, config.steps),
                    distill_plots.agreement_figure(distiller.result.evaluations, config.steps)
                    if report.agreement is not None or report.step == 1  # step 1: show the "before" point
                    else gr.skip(),
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                )
            if distiller.result.stopped:
                stopped_at = len(distiller.result.history)
                yield (f"Stopped after {stopped_at} steps; the run's memory was freed.", *[gr.skip()] * 6)
                return
            finished = distill_session.finish(distiller, teacher)
            yield (
                "Done: the student is ready.",
                distill_plots.loss_figure(distiller.result.history, config.steps),
                distill_plots.agreement_figure(distiller.result.evaluations, config.steps),
                distill_session.summary_markdown(distiller, finished),
                finished.archive,
                finished.student,
                gr.update(visible=True),
            )
        except InputError as err:
            yield (views.notices([str(err)], error=True), *[gr.skip()] * 6)
        finally:
            ACTIVE_RUNS.finish(session)
            del distiller  # student, optimizer and batches go now, not at the next collection
            distill_session.release_memory()

    def stop(request: gr.Request):
        if not ACTIVE_RUNS.stop(request):
            return "No run of yours is in progress."
        return "Stopping after the current step…"

    def use_student(finished):
        if finished is None:
            return gr.skip(), "Run a distillation first."
        return finished, (
            "The Compare and Attention tabs now use your distilled student as the DistilBERT side "
            "for fill-mask (this browser session only)."
        )

    def forget_student():
        return None, "The Compare and Attention tabs are back to the loaded DistilBERT."

    return start, stop, use_student, forget_student


def distill_tab(store: ModelStore, student_state: gr.State) -> None:
    teacher_name = registry.resolve_source("fill-mask", "bert", store.overrides.get(("fill-mask", "bert")))
    teacher_layers = store.config("fill-mask", "bert").num_hidden_layers
    fast_bf16 = bf16_is_fast(store.device)
    # About a minute on 2 CPU cores with a bert-base teacher: ~1.4 s a step in fp32, ~0.6 s in bf16.
    default_steps = 100 if fast_bf16 else _DEFAULTS.steps
    start, stop, use_student, forget_student = distill_handlers(store)
    gr.Markdown(
        f"Distil a DistilBERT-shaped student (half the layers) from the loaded BERT (**{views.esc(teacher_name)}**, "
        f"{teacher_layers} layers) with the DistilBERT recipe: soft-target KL at temperature T (times T²), "
        "masked-LM cross-entropy and hidden-state cosine loss. The defaults take about a minute on 2 CPU cores."
    )
    with gr.Row():
        with gr.Column(scale=1):
            pasted = gr.Textbox(
                label="Your own text (optional)",
                lines=4,
                placeholder="One sentence or paragraph per line. Empty: the shipped toy corpus (392 sentences).",
            )
            upload = gr.File(label="…or a .txt file (2 MiB at most)", file_types=[".txt"], type="filepath")
            layers = gr.Textbox(
                label="Student layers (teacher layers to copy)",
                placeholder="0, 2, 4, 7, 9, 11",
                info="Empty: the paper's choice for a 12-layer teacher, every other layer otherwise.",
            )
        with gr.Column(scale=1):
            steps = gr.Slider(
                0, distill_session.MAX_STEPS, value=default_steps, step=1, label="Steps", elem_id="distill-steps"
            )
            batch_size = gr.Slider(1, 32, value=_DEFAULTS.batch_size, step=1, label="Batch size")
            seq_len = gr.Slider(16, 256, value=_DEFAULTS.seq_len, step=8, label="Sequence length (tokens)")
            temperature = gr.Slider(0.5, 8, value=_DEFAULTS.temperature, step=0.5, label="Temperature T")
            with gr.Row():
                alpha_ce = gr.Number(value=_DEFAULTS.alpha_ce, label="α_ce", minimum=0)
                alpha_mlm = gr.Number(value=_DEFAULTS.alpha_mlm, label="α_mlm", minimum=0)
                alpha_cos = gr.Number(value=_DEFAULTS.alpha_cos, label="α_cos", minimum=0)
                lr = gr.Number(value=_DEFAULTS.lr, label="Learning rate", minimum=0)
            bf16 = gr.Checkbox(
                value=fast_bf16,
                label="bf16 mixed precision",
                info="~2.4x faster where the processor has bf16 units" + (" (this one does)" if fast_bf16 else ""),
            )
    with gr.Row():
        start_button = gr.Button("Start", variant="primary", elem_id="distill-start")
        stop_button = gr.Button("Stop", variant="stop", elem_id="distill-stop")
    status = gr.Markdown(elem_id="distill-status")
    with gr.Row(equal_height=False):
        losses = gr.Plot(label="Losses", elem_id="distill-losses")
        agreement = gr.Plot(label="Agreement", elem_id="distill-agreement")
    summary = gr.Markdown(elem_id="distill-summary")
    archive = gr.File(label="Download the student (zip: model + tokenizer)", elem_id="distill-download")
    finished = gr.State(None)
    with gr.Row():
        use_button = gr.Button("Use this student in Compare and Attention", visible=False, elem_id="distill-use")
        forget_button = gr.Button("Back to the loaded DistilBERT", size="sm")
    used = gr.Markdown(elem_id="distill-used")

    start_button.click(
        start,
        inputs=[
            pasted,
            upload,
            layers,
            steps,
            batch_size,
            seq_len,
            temperature,
            alpha_ce,
            alpha_mlm,
            alpha_cos,
            lr,
            bf16,
        ],
        outputs=[status, losses, agreement, summary, archive, finished, use_button],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="distill",
    )
    # Not queued behind the run it stops.
    stop_button.click(stop, outputs=status, queue=False, api_visibility="private")
    use_button.click(use_student, inputs=finished, outputs=[student_state, used], api_visibility="private")
    forget_button.click(forget_student, outputs=[student_state, used], api_visibility="private")
