"""Hostile and odd input thrown at every handler: each returns a result or a clear message.

Property-based (hypothesis), 300 examples per handler: random Unicode, control characters,
emoji, right-to-left text, very long words, many masks, masks glued to punctuation, HTML and
script tags, whitespace.
"""

import gradio as gr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distilbert_demo import labelled, layer_map, markup
from distilbert_demo.attention.tab import attention_handlers
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.distill import corpus
from distilbert_demo.inputs import InputError

FRAGMENTS = [
    "[MASK]",
    "[mask]",
    "[MASK].",
    "([MASK])",
    "[MASK][MASK]",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "&amp;",
    "**bold**",
    "| a | b |",
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "שלום",
    "🙂🔥👍🏽",
    "\x00",
    "\x1b[31m",
    "\t",
    "\n",
    "\r\n",
    " ",
    "\u200b",
    "a" * 600,
    "sehr" * 200,
    ".,!?;:",
    "the",
    "cat",
    "was",
    "not",
    "bad",
    "Paris",
    "123",
    "{}",
    "%s",
    "${x}",
    "\\",
    "'",
    '"',
]
HOSTILE_TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
    st.text(alphabet=st.characters(categories=["Cc", "Zs", "So", "Mn"]), max_size=200),
)
PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Attention draws its figures for every accepted text (0.4 s each on the tiny models): fewer examples; the
# text checks it shares with Compare get Compare's 300.
DRAWING_PROFILE = settings(PROFILE, max_examples=100)


def one_line_message(message: str) -> None:
    assert isinstance(message, str) and message and "\n" not in message
    assert "Traceback" not in message
    # The handlers' last-resort message means an exception escaped the input checks: a bug.
    assert not message.startswith("Something went wrong"), message


def outcome(call):
    """(outputs, None) or (None, the message of the gr.Error the handler raised)."""
    try:
        return call(), None
    except gr.Error as err:
        return None, err.message


@pytest.fixture(scope="module")
def handlers(tiny_store):
    return {
        "compare": compare_handler(tiny_store),
        "attention": attention_handlers(tiny_store)[0],
    }


@PROFILE
@given(text=HOSTILE_TEXT, task=st.sampled_from(["fill-mask", "sentiment"]))
def test_compare_handler_only_raises_its_own_errors(handlers, text, task):
    outputs, message = outcome(lambda: handlers["compare"](task, text, 3, 1))
    if message is not None:
        one_line_message(message)
    else:
        notice, verdict, *_ = outputs
        assert verdict.startswith("### DistilBERT:")
        assert "<script" not in verdict and "<img" not in verdict


@DRAWING_PROFILE
@given(text=HOSTILE_TEXT, layer_map=st.one_of(st.just(""), HOSTILE_TEXT))
def test_attention_handler_only_raises_its_own_errors(handlers, text, layer_map):
    outputs, message = outcome(lambda: handlers["attention"]("fill-mask", text, layer_map))
    if message is not None:
        one_line_message(message)
    else:
        assert outputs[-1]["models"]["bert"]["tokens"][0] == "[CLS]"


@PROFILE
@given(data=st.binary(max_size=600) | HOSTILE_TEXT.map(lambda t: ("text,label\n" + t).encode("utf-8", "replace")))
def test_labelled_csv_parser_never_raises_anything_else(data):
    try:
        parsed = labelled.parse_labelled_csv(data, "upload.csv")
    except InputError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert len(parsed.texts) == len(parsed.labels) > 0
        assert set(parsed.labels) <= {"negative", "positive"}


@PROFILE
@given(text=HOSTILE_TEXT)
def test_distill_settings_never_raise_anything_else(text):
    for parse in (lambda: layer_map.parse_layers(text, 12), lambda: corpus.read_user_text(text, None)):
        try:
            parse()
        except InputError as err:
            assert str(err) and "\n" not in str(err)


@PROFILE
@given(text=HOSTILE_TEXT)
def test_escaped_text_never_contains_markup(text):
    escaped = markup.esc(text)
    assert "<" not in escaped and ">" not in escaped
