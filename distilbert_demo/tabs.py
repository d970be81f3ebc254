"""What every tab shares: the two queues, the Stop flags, and one way to fail.

Tabs import this; nothing here runs a model.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable

import gradio as gr

from . import settings
from .inputs import InputError
from .loading import LoadError
from .markup import notices

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
        return str(err)
    if isinstance(err, LoadError):
        return f"The models could not be loaded: {err}"
    log.error("%s failed", doing, exc_info=err)  # the page gets a message, the log the traceback
    return f"Something went wrong while {doing}; the error was logged. Please try again."


def guarded(doing: str, failed: Callable[[str], tuple]):
    """Every tab handler fails the same way: bad input shows its message, a model that cannot load
    says so, anything else is logged and shown as one line. `failed(message)` builds the outputs.

    Works on plain handlers and on generators (live progress); the signature Gradio reads (for
    gr.Request, gr.Progress and the API page) is the handler's own.
    """

    def wrap(handler):
        if inspect.isgeneratorfunction(handler):

            @functools.wraps(handler)
            def stream(*args, **kwargs):
                try:
                    yield from handler(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 - see _message
                    yield failed(_message(err, doing))

            return stream

        @functools.wraps(handler)
        def call(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - see _message
                return failed(_message(err, doing))

        return call

    return wrap


def _session(request) -> str:
    return request.session_hash if request is not None else "local"


class StopFlags(dict):
    """Session -> stop flag of that visitor's running job, so that a Stop click reaches it."""

    def start(self, request) -> tuple[str, threading.Event]:
        session = _session(request)
        flag = self[session] = threading.Event()
        return session, flag

    def finish(self, session: str) -> None:
        self.pop(session, None)

    def stop(self, request) -> bool:
        """Ask the visitor's running job to stop; False when they have none."""
        flag = self.get(_session(request))
        if flag is None:
            return False
        flag.set()
        return True


def run_and_stop(label: str, run_id: str, stop_id: str) -> tuple[gr.Button, gr.Button]:
    """A heavy job's two buttons side by side: start it, and stop it between two steps."""
    with gr.Row():
        return gr.Button(label, variant="primary", elem_id=run_id), gr.Button("Stop", variant="stop", elem_id=stop_id)


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
