"""What every tab shares: the two queues, the Stop flags, a visitor's student, and one way to fail.

Tabs import this; nothing here runs a model.

A handler that runs models comes in two parts (ZeroGPU runs model work in a forked worker: gpu.py):
the part Gradio calls runs in the server and does everything that is kept between clicks (the
session's Stop flag, folders and downloads registered in STORAGE, a student's handle turned into
its folder); the model work is a function decorated with `gpu.on_gpu` that takes plain arguments
and returns plain data (figures, tables, text, bytes), and changes nothing a later call reads.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from . import registry, resources, settings, students
from .inputs import InputError
from .loading import LoadError, ModelStore, Pair
from .markup import notices
from .storage import STORAGE, StopFlag

log = logging.getLogger(__name__)

# One model job at a time on a 2-core machine: requests queue instead of fighting for cores (and
# spoiling each other's timings). Comparisons and attention share one queue; distillations,
# evaluations and benchmark sweeps share another, and later visitors see their place in it.
MODEL_QUEUE = "models"
HEAVY_QUEUE = "heavy"


def error_markdown(message: str) -> str:
    return notices([message], error=True)


def _message(err: Exception, doing: str) -> str:
    if isinstance(err, InputError):
        log.info("rejected input while %s: %s", doing, err)  # one line, no traceback
        return str(err)
    if isinstance(err, LoadError):
        log.error("a model could not be loaded while %s: %s", doing, err)
        return f"The models could not be loaded: {err}"
    log.error("%s failed", doing, exc_info=err)  # the page gets a message, the log the traceback
    return f"Something went wrong while {doing}; the error was logged. Please try again."


def guarded(doing: str):
    """Every tab handler fails the same way, through Gradio's own error mechanism (gr.Error): an API
    caller gets an exception with the message the page shows. Bad input says what is wrong, a model
    that cannot load says so, anything else is logged with its traceback and shown as one line.

    Works on plain handlers and on generators (live progress); the signature Gradio reads (for
    gr.Request, gr.Progress and the API page) is the handler's own.
    """

    def wrap(handler):
        if inspect.isgeneratorfunction(handler):

            @functools.wraps(handler)
            def stream(*args, **kwargs):
                try:
                    yield from handler(*args, **kwargs)
                except gr.Error:
                    raise
                except Exception as err:  # noqa: BLE001 - see _message
                    raise gr.Error(_message(err, doing), print_exception=False) from None

            return stream

        @functools.wraps(handler)
        def call(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as err:  # noqa: BLE001 - see _message
                raise gr.Error(_message(err, doing), print_exception=False) from None

        return call

    return wrap


ONE_HEAVY_JOB = (
    "You already have a job waiting or running in the queue for distillations, races, evaluations, sweeps, "
    "explanations and the ladder (one at a time for everyone, so each visitor gets a turn): wait for it to "
    "finish, or press Stop."
)


def heavy_jobs_of_caller() -> int:
    """How many events of the heavy queue the calling session has waiting or running, as Gradio's own
    queue holds them (read while Gradio validates a new event, before it is queued). Gradio bounds the
    queue as a whole (max_size) and runs one heavy job at a time (concurrency_id), but lets one session
    fill the queue; this is the count that stops it. 0 where the queue cannot be read."""
    from gradio.context import LocalContext

    queue = getattr(LocalContext.blocks.get(None), "_queue", None)
    session = getattr(LocalContext.request.get(None), "session_hash", None)
    if queue is None or session is None:
        return 0
    live = (queue.event_ids_to_events.get(event_id) for event_id in queue.pending_event_ids_session.get(session, ()))
    return sum(getattr(event, "concurrency_id", None) == HEAVY_QUEUE for event in live)


def validator(names: list[str], check: Callable[..., object], blame: str, heavy: bool = False, busy: str | None = None):
    """A Gradio validator for an event whose inputs are `names`, in order: it runs the cheap checks
    `check(**values)` before any model work; an InputError's message is shown next to the control
    at fault (its `field`, else `blame`) and reaches an API caller as an error. For an event of the
    heavy queue (`heavy`), a visitor with a heavy job already waiting or running is told so, next to
    `busy` (else `blame`): a control presenter mode keeps on screen, or the refusal goes unseen."""

    def validate(*args, **kwargs):
        values = dict(zip(names, args)) | kwargs
        try:
            if heavy and heavy_jobs_of_caller():
                raise InputError(ONE_HEAVY_JOB, field=busy)
            check(**values)
        except InputError as err:
            log.info("rejected input: %s", err)
            target = err.field if err.field in names else blame
            results = [gr.validate(name != target, str(err) if name == target else "") for name in names]
        else:
            results = [gr.validate(True, "") for _ in names]
        # one input: Gradio reads the validator's value as that one output, so it is the result itself
        return results[0] if len(names) == 1 else results

    return validate


def student_folder(student_handle: str | None) -> str | None:
    """In the server: the folder of the visitor's distilled student, when they chose to use it; a
    student the server has since dropped is said plainly (InputError), not used silently."""
    try:
        folder = STORAGE.student(student_handle)
    except LookupError as evicted:
        raise InputError(str(evicted)) from None
    return None if folder is None else str(folder)


def visitor_pair(store: ModelStore, task: str, folder: str | None) -> Pair:
    """In any process: the task's pair, with the student saved in `folder` (student_folder) as the
    DistilBERT side of fill-mask."""
    task = registry.check_task(task)
    if folder is None or task != "fill-mask":
        return store.pair(task)
    return store.pair(task, students.load(Path(folder), store.pair(task).bert))


def session_of(request) -> str:
    """The visitor's session (a handler called directly, as in tests, has none: "local")."""
    return request.session_hash if request is not None else "local"


class StopFlags(dict):
    """Session -> stop flag of that visitor's running job, so that a Stop click reaches it (a file:
    the job may run in a ZeroGPU worker, storage.StopFlag)."""

    def start(self, request) -> tuple[str, StopFlag]:
        session = session_of(request)
        flag = self[session] = STORAGE.stop_flag()
        return session, flag

    def finish(self, session: str) -> None:
        flag = self.pop(session, None)
        if flag is not None:
            STORAGE.clear_stop(flag)

    def stop(self, request) -> bool:
        """Ask the visitor's running job to stop; False when they have none."""
        flag = self.get(session_of(request))
        if flag is None:
            return False
        flag.set()
        return True


# Components with this class are hidden in presenter mode (assets/page/page.css): explanatory prose
# and the controls a speaker does not touch on stage.
PRESENTER_HIDE = "presenter-hide"
# ... and these are moved down in presenter mode (after what has neither class, before PRESENTER_LAST):
# settings chosen before the talk, so that the verdict and the main figures fit a projector's screen.
PRESENTER_LATER, PRESENTER_LAST = "presenter-later", "presenter-last"
# And these are shown in presenter mode only: what stands in for what it hides (the example picker
# for the example lists, the loading line for the banner).
PRESENTER_ONLY = "presenter-only"


def task_examples(task: str) -> list[tuple[str, str]]:
    """The shipped examples of `task`, in order, as (text, question) (the question is "" but for qa)."""
    return [(text, question) for row_task, text, question in resources.example_rows() if row_task == task]


def example_number(task: str, text: str | None, question: str | None = None) -> int | None:
    """Which of `task`'s examples (counted from 1) the boxes hold; None for a text of one's own. With
    `question` None (a tab without a question box) the text alone decides."""
    for number, (shown, asked) in enumerate(task_examples(task), start=1):
        if shown == text and (question is None or asked == (question or "")):
            return number
    return None


def example_picker(task: str, text: str, question: str | None = None, elem_id: str = "example") -> gr.Radio:
    """On stage the example lists are hidden: numbered choices, laid out where called (beside the
    task), that fill the task's n-th shipped example once wired (wire_example_picker). `task`, `text`
    and `question` are the boxes' first values (question None: the tab has no question box)."""
    return gr.Radio(
        _numbers(task),
        value=None if (n := example_number(task, text, question)) is None else str(n),
        label="Example",
        elem_id=elem_id,
        elem_classes=PRESENTER_ONLY,
        scale=1,
        min_width=200,
    )


def wire_example_picker(picker: gr.Radio, task: gr.Radio, text: gr.Textbox, question: gr.Textbox | None) -> None:
    """A number fills that example (the text; qa: the question and its context). In presenter mode
    switching the task loads its first example instead of leaving the last task's text; out of it,
    only when the box holds a shipped example (a visitor's own text stays). The number shown follows
    the boxes: none once the text is one's own, the link's number when a link fills them.

    All of it runs in the browser, with the examples in the page: answers from the server could
    arrive out of order (a task switch's first example landing after the number picked next)."""
    boxes = [text] if question is None else [text, question]
    examples = json.dumps({name: task_examples(name) for name in registry.TASKS})
    out = "(e) => e" if question is not None else "(e) => e[0]"  # what the boxes get from [text, question]
    same = "(boxes.length > 1 ? boxes : boxes[0])"  # the boxes as they are
    fill_js = (
        f"(task, n, ...boxes) => {{ const e = ({examples}[task] || [])[Number(n) - 1]; "
        f"return e ? ({out})(e) : {same}; }}"
    )
    task_js = (
        f"(task, ...boxes) => {{ const all = {examples}; const text = boxes[0] || ''; "
        "const shipped = Object.values(all).some((rows) => rows.some((r) => r[0] === text)); "
        "const on = window.distilbertDemo && window.distilbertDemo.on(); "
        f"return (on || shipped || !text.trim()) && all[task] ? ({out})(all[task][0]) : {same}; }}"
    )
    number_js = (
        f"(task, ...boxes) => {{ const rows = {examples}[task] || []; "
        "const i = rows.findIndex((r) => r[0] === boxes[0] && (boxes.length < 2 || r[1] === (boxes[1] || ''))); "
        "return i < 0 ? null : String(i + 1); }"
    )
    private = {"queue": False, "api_visibility": "private"}
    picker.input(None, inputs=[task, picker, *boxes], outputs=boxes, js=fill_js, **private)
    task.input(None, inputs=[task, *boxes], outputs=boxes, js=task_js, **private)
    # The task's numbers come from the server (a radio's choices), then the number from the boxes.
    task.change(lambda name: gr.Radio(choices=_numbers(name)), inputs=task, outputs=picker, **private).then(
        None, inputs=[task, *boxes], outputs=picker, js=number_js, **private
    )
    gr.on([box.change for box in boxes], None, inputs=[task, *boxes], outputs=picker, js=number_js, **private)


def _numbers(task: str) -> list[str]:
    return [str(n) for n in range(1, len(task_examples(task)) + 1)]


def run_and_stop(label: str, run_id: str, stop_id: str, own_row: bool = True) -> tuple[gr.Button, gr.Button]:
    """A heavy job's two buttons side by side: start it, and stop it between two steps (in a row of
    their own, or in the caller's row with `own_row=False`)."""
    if not own_row:
        return gr.Button(label, variant="primary", elem_id=run_id), gr.Button("Stop", variant="stop", elem_id=stop_id)
    with gr.Row():
        return run_and_stop(label, run_id, stop_id, own_row=False)


def controls(
    cls,
    names: list[str],
    prefix: str,
    info: dict[str, str] | None = None,
    choices: dict[str, list] | None = None,
    **page_defaults,
) -> dict[str, gr.components.Component]:
    """Gradio controls for fields of a settings dataclass (see settings.py), laid out where called:
    a bool is a checkbox, choices a radio (or checkboxes for a list), bounds a slider, else a number."""
    made = {}
    declared = settings.fields(cls)
    for name in names:
        f, kind = declared[name]
        meta = f.metadata
        value = page_defaults.get(name, settings.page_default_of(f))
        common = {"label": settings.label_of(f), "value": value, "elem_id": f"{prefix}-{name.replace('_', '-')}"}
        if info and name in info:
            common["info"] = info[name]
        if kind is bool:
            made[name] = gr.Checkbox(**common)
        elif meta["choices"] is not None:
            widget = gr.CheckboxGroup if kind == list[int] else gr.Radio
            made[name] = widget(list((choices or {}).get(name, meta["choices"])), **common)
        elif meta["maximum"] is not None:
            made[name] = gr.Slider(meta["minimum"], meta["maximum"], step=meta["step"], **common)
        else:
            made[name] = gr.Number(minimum=meta["minimum"], **common)
    return made


def settings_from(cls, values: dict, **extra):
    """An instance of `cls` from its controls' values (by field name), with the declared types."""
    declared = settings.fields(cls)
    typed = {}
    for name, value in values.items():
        kind = declared[name][1]
        try:
            typed[name] = [int(v) for v in value or []] if kind == list[int] else kind(value)
        except (TypeError, ValueError):
            raise InputError(f"{settings.label_of(declared[name][0])} must be a number.") from None
    return cls(**typed, **extra)
