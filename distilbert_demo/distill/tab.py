"""The Distill tab: layout and wiring only (the run is distill/core.py and distill/recipe.py, the
curves distill/figures.py, the text distill/views.py)."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import gradio as gr

from .. import registry, resources
from ..gpu import on_gpu
from ..inputs import UPLOAD_LIMIT_TEXT, InputError
from ..loading import ModelStore
from ..markup import esc
from ..storage import SESSION_TTL_S, STORAGE
from ..tabs import HEAVY_QUEUE, PRESENTER_HIDE, StopFlags, controls, guarded, run_and_stop, settings_from, validator
from . import core, corpus, figures, views
from .corpus import HELDOUT_EVERY
from .recipe import ABLATIONS, DistillConfig, bf16_is_fast

# Session -> stop flag of that visitor's running distillation (module level so that tests and
# operators can see what is running).
ACTIVE_RUNS = StopFlags()
# The DistillConfig fields the page offers, in the order of its controls (the rest keep their defaults).
# The API's order: settings added later come last, so positional callers keep working.
CONFIG_FIELDS = [
    "steps",
    "batch_size",
    "seq_len",
    "temperature",
    "alpha_ce",
    "alpha_mlm",
    "alpha_cos",
    "lr",
    "bf16",
    "seconds",
    "init",
]
# A live run redraws the page at most this often (a GPU makes many steps a second, an evaluation every ten).
# The charts cost the browser most: one redraw of both took 0.14 s in the app's page on this project's AMD
# EPYC, 0.6 s at a 4x CPU slow-down (`python -m benchmarks.distill_redraw`); redrawn twice a second, a loaded
# 2-core machine's page had no time left to take a click on Stop.
STATUS_EVERY_S = 1.0  # the status line and the progress bar
CHARTS_EVERY_S = 2.0  # the loss and agreement charts
PRESET_FIELDS = ["alpha_ce", "alpha_mlm", "alpha_cos", "init"]  # what the ablation presets set
# A run's first update, sent at once: what is happening, and the previous result cleared (its student's
# handle stays, and so does the choice made with "Use this student").
BUILDING = "Building the student from the teacher's layers…"
STARTING = (f"**{BUILDING}**", None, None, "", None, gr.skip(), gr.update(visible=False))
RACE_BUILDING = "Building both students: one from the teacher's layers, one from random weights…"
RACE_STARTING = (f"**{RACE_BUILDING}**", None, None, "")


def preset_reference(preset: str) -> str:
    """The paper's figure for a preset, and what a one-minute toy run can and cannot show."""
    _, change = ABLATIONS[preset]
    if change is None:
        return "<small>The triple loss from the teacher's layers: the paper's reference (GLUE macro 77.0).</small>"
    return (
        f"<small>Paper, Table 4: **{change:+.2f}** GLUE macro-score against the full recipe. A one-minute run on "
        "a toy corpus shows the direction (race it against the full recipe), not the paper's figure.</small>"
    )


def apply_preset(preset: str):
    """The controls a preset sets: the defaults, then the preset's one change."""
    config = DistillConfig().ablation(preset)
    return (*(getattr(config, name) for name in PRESET_FIELDS), preset_reference(preset))


def input_check(store: ModelStore):
    """What can be refused before any model work (next to the control at fault on the page)."""

    def check(pasted=None, upload=None, layers_text=None, **settings) -> None:
        config = settings_from(DistillConfig, settings)
        teacher_layers = store.config("fill-mask", "bert").num_hidden_layers
        try:
            core.check_settings(config, teacher_layers, layers_text)
        except InputError as err:  # a layer list's message belongs next to the layer list
            raise InputError(str(err), field=err.field or "layers_text") from None
        try:
            corpus.read_user_text(pasted, upload)
        except InputError as err:
            raise InputError(str(err), field="upload" if upload else "pasted") from None

    return check


class Pace:
    """When a live run redraws the page: the first and last steps, and otherwise the status every
    STATUS_EVERY_S and the charts every CHARTS_EVERY_S. An evaluation waits for the next chart like any step."""

    def __init__(self, clock=None):
        self.clock, self.status_at, self.charts_at = clock or time.monotonic, -math.inf, -math.inf

    def status(self, report) -> bool:
        """Whether to send the status for this step (and then ask `charts`)."""
        now = self.clock()
        if report.step in (1, report.steps) or now - self.status_at >= STATUS_EVERY_S:
            self.status_at = now
            return True
        return False

    def charts(self, report) -> bool:
        """Whether this step's update (one `status` allowed) also redraws the charts."""
        if report.step in (1, report.steps) or self.status_at - self.charts_at >= CHARTS_EVERY_S:
            self.charts_at = self.status_at
            return True
        return False


class Drawing:
    """Draws the charts and times each kind: the verdict redraws them all once the last step is made, so a
    time budget keeps the latest times of each (with what else follows the last step) in reserve."""

    def __init__(self, plan, reserve_s: float = 0.0):
        self.plan, self.reserve_s, self.seconds = plan, reserve_s, {}

    def __call__(self, draw, *args):
        began = time.perf_counter()
        figure = draw(*args)
        self.seconds[draw.__name__] = time.perf_counter() - began
        if self.plan.budget_s:
            self.plan.reserve_s = self.reserve_s + sum(self.seconds.values())
        return figure


def axis_steps(report) -> int:
    """How far the curves' x axis reaches: the plan, once a budget's first steps are timed."""
    plan = report.plan
    return report.steps if plan is None or plan.measured or not plan.budget_s else report.step + 10


def gpu_seconds(pasted, upload, layers_text, config: DistillConfig, *rest, **kwargs) -> float:
    """A run's ask of ZeroGPU, from its own settings: building the student, then its time budget or
    ~0.1-0.3 s a step on a GPU, then the comparison with its teacher."""
    return 30 + (config.seconds if config.seconds > 0 else 0.3 * config.steps)


def trainer(store: ModelStore):
    """The distillation's model work, for `distill` (runs in a ZeroGPU worker there)."""

    @on_gpu("distill", gpu_seconds)
    @guarded("distilling")
    def train(pasted, upload, layers_text, config: DistillConfig, stop, folder: str, started=None, progress=None):
        """The model work (any process): yields (page update, whether the student in `folder` is finished).
        A time budget counts from `started` (the click) and keeps room for the final measurement."""
        teacher = store.pair("fill-mask").bert
        timing = {"started": started} if started is not None else {}
        distiller = core.make_distiller(teacher, config, layers_text, pasted, upload, **timing)
        # the budget keeps room for the final measurement and the verdict's charts
        draw = Drawing(distiller.plan, core.reserve_finish(distiller, teacher))
        try:
            pace, drawn = Pace(), 0  # drawn: how many evaluations the agreement chart shows
            for report in distiller.run(stop):
                if not pace.status(report):
                    continue
                if progress is not None:  # as often as the status (for API callers)
                    progress((report.step, report.steps), desc="distilling", unit="steps")
                charts, evaluations = pace.charts(report), distiller.result.evaluations
                yield (
                    (
                        views.progress_markdown(report),
                        draw(figures.loss_figure, distiller.result.history, axis_steps(report))
                        if charts
                        else gr.skip(),
                        draw(figures.agreement_figure, evaluations, axis_steps(report))
                        if charts and len(evaluations) > drawn  # step 1 draws the "before" point
                        else gr.skip(),
                        *[gr.skip()] * 4,
                    ),
                    False,
                )
                drawn = len(evaluations) if charts else drawn
            if distiller.result.stopped:
                stopped_at = len(distiller.result.history)
                last = (f"Stopped after {stopped_at} steps; the run's memory was freed.", *[gr.skip()] * 6), False
            else:
                finished = core.finish(distiller, teacher, Path(folder))
                last = (
                    (
                        views.done_line(distiller, finished, started and time.perf_counter() - started),
                        figures.loss_figure(distiller.result.history, len(distiller.result.history)),
                        figures.agreement_figure(distiller.result.evaluations, len(distiller.result.history)),
                        views.summary_markdown(distiller, finished),
                        finished.archive,
                        None,  # the handle: the server's to give (distill)
                        gr.update(visible=True),
                    ),
                    True,
                )
                del finished  # the student's copy in memory: it is saved in `folder`
        finally:
            del distiller  # student, optimizer and batches go now, not at the next collection
            core.release_memory()
        # The last line goes out once the memory is freed: the run holds the heavy queue until its
        # generator ends, so "Done" shown before this (up to a second) made a Start clicked right
        # after it a click the page dropped, or a refusal ("you already have a job") on stage.
        yield last

    return train


def distill_handlers(store: ModelStore):
    """start (a generator: live curves), stop, and use-this-student."""
    train = trainer(store)

    @guarded("distilling")
    def distill(
        pasted: str | None = None,
        upload: str | None = None,
        layers_text: str | None = None,
        request: gr.Request = None,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects its progress tracker
        **settings,  # the DistillConfig fields of CONFIG_FIELDS, by name
    ):
        """Distil a DistilBERT-shaped student (half the layers) from the loaded BERT with the DistilBERT
        recipe (soft-target KL at temperature T, masked-LM loss, hidden-state cosine loss), streaming the
        loss and agreement curves, then measure the student next to its teacher. Bad settings raise an error.

        Args:
            pasted: your own training text, one sentence per line (empty: the shipped toy corpus).
            upload: a .txt file instead (2 MiB at most).
            layers_text: the teacher layers the student starts from, e.g. "0,2,4,7,9,11" (empty: the paper's).

        Returns:
            status, loss curves, agreement curve, summary (teacher vs student: size, latency, held-out
            agreement), the student's zip (model + tokenizer), a handle to the student, the use-it button.
        """
        started = time.perf_counter()  # the budget counts from the click: building and measuring are inside it
        config = settings_from(DistillConfig, settings)
        session, stop = ACTIVE_RUNS.start(request)
        folder = STORAGE.student_folder(session)  # made here, written by the run, kept here
        kept = False
        try:
            yield STARTING  # at once (the student is built first; on ZeroGPU a GPU is attached first)
            if progress is not None:  # for API callers, which see progress messages
                progress(0, desc=BUILDING)
            args = (pasted, upload, layers_text, config, stop, str(folder), started, progress)
            with contextlib.closing(train(*args)) as run:
                for update, finished in run:
                    if finished:  # the page keeps a handle; the student stays in STORAGE (capped, expiring)
                        update = (*update[:5], STORAGE.keep_student(session, folder), *update[6:])
                        kept = True
                    yield update
        finally:
            if not kept:
                STORAGE.abandon_folder(folder)
            ACTIVE_RUNS.finish(session)

    def stop(request: gr.Request):
        if not ACTIVE_RUNS.stop(request):
            return "No run of yours is in progress."
        return "Stopping after the current step…"

    def use_student(handle):
        if handle is None:
            return gr.skip(), "Run a distillation first."
        try:
            STORAGE.student(handle)
        except LookupError as evicted:
            return None, str(evicted)
        return handle, (
            "The Compare and Attention tabs now use your distilled student as the DistilBERT side "
            "for fill-mask (this browser session only)."
        )

    def forget_student():
        return None, "The Compare and Attention tabs are back to the loaded DistilBERT."

    return distill, stop, use_student, forget_student


def histories(results: dict) -> dict[str, list[dict]]:
    """Each lane's per-step history so far (its DistillResult's)."""
    return {init: result.history for init, result in results.items()}


# How long freeing a race's two students took last time (a first guess before any race): the verdict
# goes out after it, so a time budget keeps it in reserve.
_released = {"seconds": 0.5}


def race_handler(store: ModelStore):
    """The myth race's handler (one click, two students stepping in turns)."""

    @on_gpu("race", gpu_seconds)
    @guarded("racing")
    def run_race(pasted, upload, layers_text, config: DistillConfig, stop, started=None, progress=None):
        """The model work (any process): yields the page's updates. A time budget counts from `started`."""
        teacher = store.pair("fill-mask").bert
        pace, drawn, contest, draw = Pace(), 0, None, None  # as in train
        runs = core.race(teacher, config, layers_text, pasted, upload, stop=stop, started=started)
        try:
            for report, contest in runs:
                # the budget keeps room for the verdict's charts and for freeing both students' memory
                draw = draw or Drawing(report.plan, _released["seconds"])
                if not pace.status(report):
                    continue
                if progress is not None:  # as often as the status (see train)
                    progress((report.step, report.steps), desc="racing: a step of each student in turn", unit="steps")
                results = contest.results
                curves = {init: result.evaluations for init, result in results.items()}
                charts, evaluations = pace.charts(report), sum(map(len, curves.values()))
                yield (
                    views.race_progress_markdown(report, results),
                    draw(figures.race_loss_figure, histories(results), axis_steps(report)) if charts else gr.skip(),
                    draw(figures.race_figure, curves, axis_steps(report))
                    if charts and evaluations > drawn
                    else gr.skip(),
                    gr.skip(),
                )
                drawn = evaluations if charts else drawn
            if contest is None:  # stopped before the first step
                last = ("Race stopped before its first step.", *[gr.skip()] * 3)
            else:
                results = contest.results
                line = core.race_summary(results, contest.twin)  # the verdict, once: above the charts (status)
                steps = len(results["teacher"].history)
                curves = {init: result.evaluations for init, result in results.items()}
                last = (
                    f"**Race {'stopped' if stop.is_set() else 'finished'}:** {line}",
                    figures.race_loss_figure(histories(results), steps),
                    figures.race_figure(curves, steps),
                    "",  # the previous run's summary goes; the verdict is not said a second time
                )
        finally:
            runs.close()
            del runs, contest  # both students, their optimisers and batches go now
            began = time.perf_counter()
            core.release_memory()
            _released["seconds"] = time.perf_counter() - began  # the next race's reserve
        yield last  # once the memory is freed: the race is over when the page says so (see train)

    # The same parameters as `distill`, spelled out again on purpose: Gradio reads each handler's own
    # signature for its API and MCP parameter names (the one repetition the duplicate scan reports).
    @guarded("racing")
    def race(
        pasted: str | None = None,
        upload: str | None = None,
        layers_text: str | None = None,
        request: gr.Request = None,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects its progress tracker
        **settings,  # the DistillConfig fields of CONFIG_FIELDS, by name
    ):
        """The myth race ("DistilBERT is simply a smaller BERT trained from scratch"): a student that
        starts from the teacher's layers and one of the same shape from random weights step in turns on
        the same batches (same seed, one time budget for both, counted from the call), so both curves
        grow together; the verdict compares them at equal steps (top-1 held-out agreement with the
        teacher, the KL when agreement ties).

        Args:
            pasted: your own training text, one sentence per line (empty: the shipped toy corpus).
            upload: a .txt file instead (2 MiB at most).
            layers_text: the teacher layers the first student starts from (empty: the paper's).

        Returns:
            status, both students' loss chart, their agreement chart, and the one-line result.
        """
        started = time.perf_counter()  # the budget counts from the click
        config = settings_from(DistillConfig, settings)
        session, stop = ACTIVE_RUNS.start(request)
        try:
            yield RACE_STARTING
            if progress is not None:
                progress(0, desc=RACE_BUILDING)
            with contextlib.closing(run_race(pasted, upload, layers_text, config, stop, started, progress)) as updates:
                yield from updates
        finally:
            ACTIVE_RUNS.finish(session)

    return race


def distill_tab(store: ModelStore, student_state: gr.State) -> None:
    teacher_name = registry.resolve_source("fill-mask", "bert", store.overrides.get(("fill-mask", "bert")))
    teacher_layers = store.config("fill-mask", "bert").num_hidden_layers
    fast_bf16 = bf16_is_fast(store.device)
    start, stop, use_student, forget_student = distill_handlers(store)
    race = race_handler(store)
    toy = resources.toy_corpus()
    gr.Markdown(
        f"Distil a DistilBERT-shaped student (half the layers) from the loaded BERT (**{esc(teacher_name)}**, "
        f"{teacher_layers} layers) with the DistilBERT recipe: soft-target KL at temperature T (times T²), "
        "masked-LM cross-entropy and hidden-state cosine loss, within a time budget (one minute by default, on any "
        "machine: the first steps are timed and the rest planned to fit).",
        elem_classes=PRESENTER_HIDE,
    )
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Column(elem_classes=PRESENTER_HIDE, elem_id="distill-data"):
                pasted = gr.Textbox(
                    label="Your own text (optional)",
                    lines=4,
                    placeholder=f"One sentence or paragraph per line. Empty: the shipped toy corpus ({len(toy)} "
                    f"sentences, every {HELDOUT_EVERY}th held out to measure agreement).",
                )
                upload = gr.File(
                    label=f"…or a .txt file ({UPLOAD_LIMIT_TEXT} at most)", file_types=[".txt"], type="filepath"
                )
                layers = gr.Textbox(
                    label="Student layers (teacher layers to copy)",
                    placeholder="0, 2, 4, 7, 9, 11",
                    info="Empty: the paper's choice for a 12-layer teacher, every other layer otherwise.",
                )
            preset = gr.Dropdown(
                list(ABLATIONS),
                value="full recipe",
                label="Recipe: the paper's ablation, one change at a time",
                elem_id="distill-preset",
            )
            reference = gr.Markdown(
                preset_reference("full recipe"), elem_id="distill-reference", elem_classes=PRESENTER_HIDE
            )
        with gr.Column(scale=1):
            page_defaults = {"bf16": fast_bf16}
            # Laid out in order: sliders, then the four numbers in one row, then the checkbox.
            made = controls(DistillConfig, ["seconds"], "distill")
            with gr.Column(elem_classes=PRESENTER_HIDE, elem_id="distill-settings"):  # on stage: budget and recipe
                made |= controls(DistillConfig, ["steps", "batch_size", "seq_len", "temperature"], "distill")
                with gr.Row():
                    made |= controls(DistillConfig, ["alpha_ce", "alpha_mlm", "alpha_cos", "lr"], "distill")
                bf16_info = "~2.4x faster where the processor has bf16 units" + (" (this one does)" * fast_bf16)
                made |= controls(DistillConfig, ["init", "bf16"], "distill", {"bf16": bf16_info}, **page_defaults)
    with gr.Row(equal_height=True):  # one row of buttons: on a projector the charts need the height
        start_button, stop_button = run_and_stop("Start", "distill-start", "distill-stop", own_row=False)
        race_button = gr.Button(
            "The myth race: teacher's layers vs from scratch",
            elem_id="distill-race",
            scale=3,
        )
        # beside Start once a run has finished: on a projector the next click is on screen
        use_button = gr.Button(
            "Use this student in Compare and Attention", visible=False, elem_id="distill-use", scale=3
        )
    status = gr.Markdown(label="Status", elem_id="distill-status")
    with gr.Row(equal_height=False):
        losses = gr.Plot(label="Losses", elem_id="distill-losses")
        agreement = gr.Plot(label="Agreement", elem_id="distill-agreement")
    summary = gr.Markdown(label="Summary", elem_id="distill-summary")
    archive = gr.File(label="Download the student (zip: model + tokenizer)", elem_id="distill-download")
    finished = gr.State(None, time_to_live=SESSION_TTL_S)  # a handle into STORAGE
    with gr.Row():
        forget_button = gr.Button("Back to the loaded DistilBERT", size="sm")
    used = gr.Markdown(label="Which DistilBERT is in use", elem_id="distill-used")

    run = start_button.click(
        start,
        inputs=[pasted, upload, layers],
        inputs_kwargs={name: made[name] for name in CONFIG_FIELDS},
        validator=validator(
            ["pasted", "upload", "layers_text", *CONFIG_FIELDS],
            input_check(store),
            blame="steps",
            heavy=True,
            busy="seconds",  # on stage the step count is hidden, the time budget is not
        ),
        outputs=[status, losses, agreement, summary, archive, finished, use_button],
        # No tracker: the status line says what is happening, the step, the ETA; a tracker over it dimmed it
        # and covered it with "processing" (and one per output ticked ten times a second).
        show_progress="hidden",
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="distill",
    )
    # Not queued behind the run it stops; Gradio cancels the run's event, the flag ends it between steps.
    racing = race_button.click(
        race,
        inputs=[pasted, upload, layers],
        inputs_kwargs={name: made[name] for name in CONFIG_FIELDS},
        validator=validator(
            ["pasted", "upload", "layers_text", *CONFIG_FIELDS],
            input_check(store),
            blame="steps",
            heavy=True,
            busy="seconds",  # on stage the step count is hidden, the time budget is not
        ),
        outputs=[status, losses, agreement, summary],
        show_progress="hidden",  # as the run's
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="race",
    )
    stop_button.click(stop, outputs=status, cancels=[run, racing], queue=False, api_visibility="private")
    preset.change(
        apply_preset, inputs=preset, outputs=[*(made[n] for n in PRESET_FIELDS), reference], api_visibility="private"
    )
    use_button.click(use_student, inputs=finished, outputs=[student_state, used], api_visibility="private")
    forget_button.click(forget_student, outputs=[student_state, used], api_visibility="private")
