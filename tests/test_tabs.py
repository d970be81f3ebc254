"""Every tab fails the same way (tabs.guarded): through Gradio's own error (gr.Error, which an API
caller gets as an exception), bad input with its message, a model that cannot load saying so, and
anything unexpected logged with its traceback and shown as one line."""

import gradio as gr
import pytest

from distilbert_demo.attention.tab import attention_handlers
from distilbert_demo.bench.tab import bench_handlers
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.distill.tab import distill_handlers
from distilbert_demo.evaluate.tab import evaluate_handler
from distilbert_demo.inputs import InputError
from distilbert_demo.loading import LoadError


class BrokenStore:
    """A store whose every pair fails with `error`, as a checkpoint that breaks at load time would."""

    def __init__(self, error: Exception):
        self.error = error

    def pair(self, task, student=None):
        raise self.error


def first_output(store, tab: str):
    """Call a tab's main handler (a generator until it fails); returns the gr.Error's message."""
    progress = gr.Progress()
    calls = {
        "compare": lambda: compare_handler(store)("fill-mask", "The [MASK] sat.", 3, 1),
        "attention": lambda: attention_handlers(store)[0]("fill-mask", "The cat sat.", ""),
        "evaluate": lambda: evaluate_handler(store)(None, progress=progress),
        "distill": lambda: list(  # its first update is the starting line, sent before any model work
            distill_handlers(store)[0](
                "",
                None,
                "",
                request=None,
                progress=progress,
                steps=2,
                batch_size=2,
                seq_len=16,
                temperature=2.0,
                alpha_ce=5.0,
                alpha_mlm=2.0,
                alpha_cos=1.0,
                lr=5e-4,
                bf16=False,
            )
        ),
        "bench": lambda: next(
            bench_handlers(store)[0](
                request=None,
                progress=progress,
                task="fill-mask",
                seq_lens=[16],
                batch_sizes=[1],
                precision="fp32",
                repeats=2,
                baseline=False,
            )
        ),
    }
    with pytest.raises(gr.Error) as raised:
        calls[tab]()
    return raised.value.message


TABS = ["compare", "attention", "evaluate", "distill", "bench"]


@pytest.mark.parametrize("tab", TABS)
def test_an_unexpected_error_is_a_message_and_a_log_line(tab, caplog):
    message = first_output(BrokenStore(RuntimeError("disk on fire")), tab)
    assert "Something went wrong while" in message and "disk on fire" not in message
    assert "disk on fire" in caplog.text  # the traceback goes to the log, not to the visitor


@pytest.mark.parametrize("tab", TABS)
def test_a_model_that_cannot_load_says_so(tab):
    message = first_output(BrokenStore(LoadError("could not load ./gone: no such folder")), tab)
    assert "could not be loaded: could not load ./gone" in message


@pytest.mark.parametrize("tab", TABS)
def test_bad_input_is_one_log_line_not_a_traceback(tab, caplog):
    import logging

    caplog.set_level(logging.INFO)
    message = first_output(BrokenStore(InputError("Please enter some text.")), tab)
    assert message == "Please enter some text."
    rejected = [r for r in caplog.records if "rejected input" in r.getMessage()]
    assert len(rejected) == 1 and rejected[0].exc_info is None
