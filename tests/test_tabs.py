"""Every tab fails the same way (tabs.guarded): bad input shows its message, a model that cannot
load says so, and anything unexpected is logged and shown as one line, never raised."""

import gradio as gr
import pytest

from distilbert_demo.attention.tab import attention_handlers
from distilbert_demo.bench.tab import bench_handlers
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.distill.tab import distill_handlers
from distilbert_demo.evaluate.tab import evaluate_handler
from distilbert_demo.loading import LoadError


class BrokenStore:
    """A store whose every pair fails with `error`, as a checkpoint that breaks at load time would."""

    def __init__(self, error: Exception):
        self.error = error

    def pair(self, task, student=None):
        raise self.error


def first_output(store, tab: str):
    """The outputs a tab's main handler gives first (a generator's first update)."""
    progress = gr.Progress()
    calls = {
        "compare": lambda: compare_handler(store)("fill-mask", "The [MASK] sat.", 3, 1),
        "attention": lambda: attention_handlers(store)[0]("fill-mask", "The cat sat.", ""),
        "evaluate": lambda: evaluate_handler(store)(None, progress=progress),
        "distill": lambda: next(
            distill_handlers(store)[0]("", None, "", request=None, progress=progress, steps=2, batch_size=2,
                                       seq_len=16, temperature=2.0, alpha_ce=5.0, alpha_mlm=2.0, alpha_cos=1.0,
                                       lr=5e-4, bf16=False)  # fmt: skip
        ),
        "bench": lambda: next(
            bench_handlers(store)[0](request=None, progress=progress, task="fill-mask", seq_lens=[16],
                                     batch_sizes=[1], precision="fp32", repeats=2, baseline=False)  # fmt: skip
        ),
    }
    return calls[tab]()


def message_in(outputs) -> str:
    return next(o for o in outputs if isinstance(o, str) and "❌" in o)


TABS = ["compare", "attention", "evaluate", "distill", "bench"]


@pytest.mark.parametrize("tab", TABS)
def test_an_unexpected_error_is_a_message_and_a_log_line(tab, caplog):
    outputs = first_output(BrokenStore(RuntimeError("disk on fire")), tab)
    assert "Something went wrong while" in message_in(outputs) and "disk on fire" not in message_in(outputs)
    assert "disk on fire" in caplog.text  # the traceback goes to the log, not to the visitor


@pytest.mark.parametrize("tab", TABS)
def test_a_model_that_cannot_load_says_so(tab):
    outputs = first_output(BrokenStore(LoadError("could not load ./gone: no such folder")), tab)
    assert "could not be loaded: could not load ./gone" in message_in(outputs)


@pytest.mark.parametrize("tab", ["compare", "attention", "evaluate", "distill", "bench"])
def test_outputs_keep_their_shape_when_failing(tab):
    """A failure fills every output the success fills (Gradio needs one value per output)."""
    failing = first_output(BrokenStore(RuntimeError("x")), tab)
    assert isinstance(failing, tuple) and len(failing) == {"compare": 10, "attention": 12, "evaluate": 6,
                                                           "distill": 7, "bench": 8}[tab]  # fmt: skip
