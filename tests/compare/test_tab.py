"""The Compare tab's handler, called directly (no server): results and every bad input."""

import re

import gradio as gr
import pytest

from distilbert_demo import markup, ui
from distilbert_demo.compare import views
from distilbert_demo.compare.tab import INPUTS, check, compare_handler
from distilbert_demo.tabs import validator


@pytest.fixture(scope="module")
def handler(tiny_store):
    return compare_handler(tiny_store)


def test_handler_returns_figures_tables_and_json(handler):
    notice, verdict, bert_fig, bert_table, distil_fig, distil_table, latency_fig, bert_answer, _, raw = handler(
        "fill-mask", "The [MASK] worked in the [MASK].", 5, 3
    )
    assert notice == "" and bert_answer == ""  # no answer spans outside question answering
    assert verdict.startswith("### DistilBERT: ")
    assert len(bert_fig.data) == 2 and len(distil_fig.data) == 2  # one bar panel per mask
    assert "Latency median" in bert_table and "Peak extra memory" in distil_table
    assert [bar.x for bar in latency_fig.data][0] == ("BERT", "DistilBERT")
    assert raw["models"]["bert"]["latency_ms"]["runs"] == 3
    top_bert = raw["models"]["bert"]["predictions"][0][0]["token"]
    assert markup.esc(top_bert) in bert_fig.data[0].y or top_bert in bert_fig.data[0].y


@pytest.mark.parametrize(
    ("task", "text", "message"),
    [
        ("fill-mask", "", "Please enter some text."),
        ("sentiment", " \t\n", "Please enter some text."),
        ("fill-mask", "There is no mask here.", "needs at least one [MASK]"),
        ("fill-mask", "[MASK] " * 6, "at most 5 are supported"),
        ("sentiment", "y" * 10_001, "the limit is 10,000"),
        ("translation", "hello", "Unknown task"),
    ],
)
def test_handler_bad_input_gives_a_message(handler, task, text, message):
    """Before any model runs, the validator shows the message next to the text box (and an API caller
    gets it as an error); the handler itself raises the same message through Gradio's error mechanism."""
    results = validator(INPUTS, check, blame="text")(task, text, 5, 3, "", None)
    shown = dict(zip(INPUTS, results))
    assert shown["text"]["is_valid"] is False and message in shown["text"]["message"]
    assert all(r["is_valid"] for name, r in shown.items() if name != "text")
    with pytest.raises(gr.Error, match=re.escape(message)):
        handler(task, text, 5, 3)


def test_a_bad_setting_is_shown_next_to_its_control():
    results = dict(zip(INPUTS, validator(INPUTS, check, blame="text")("fill-mask", "The [MASK].", 0, 3, "", None)))
    assert results["top_k"]["is_valid"] is False and "top-k must be between 1 and 20" in results["top_k"]["message"]
    assert results["text"]["is_valid"] is True


def test_handler_truncation_notice(handler):
    notice, *_, raw = handler("fill-mask", "the [MASK] " + "dog " * 700, 5, 1)
    assert "only the first 512 were used" in notice
    assert raw["models"]["bert"]["num_tokens"] == 512


def test_html_in_results_is_escaped():
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    escaped = markup.esc(hostile)
    assert "<" not in escaped and ">" not in escaped
    assert "&lt;img" in escaped
    assert markup.notices([hostile]).count("<") == 0


def test_banner_names_checkpoints_device_and_threads(tiny_store):
    text = markup.banner(tiny_store.loaded_pairs(), "cpu", 2)
    assert "cpu" in text and "threads:** 2" in text
    assert "fill-mask" in text and "local folder" in text
    assert "Untrained twins" not in text


def test_question_answering_through_the_handler(handler):
    context = "The report on city traffic was written by Maria Lopez, an engineer, and published in March."
    notice, verdict, *_, bert_answer, distil_answer, raw = handler("qa", context, 3, 2, "Who wrote the report?")
    assert notice == "" and verdict.startswith("### DistilBERT:")
    assert raw["question"] == "Who wrote the report?" and raw["text"] == context
    for side, shown in (("bert", bert_answer), ("distilbert", distil_answer)):
        best = raw["models"][side]["predictions"][0]
        assert context[best["start"] : best["end"]] == best["text"]
        assert shown.count("<mark>") == 1 and "**Answer:**" in shown
    with pytest.raises(gr.Error, match="Please enter a question."):
        handler("qa", context, 3, 2, "   ")
    with pytest.raises(gr.Error, match="Please enter a context"):
        handler("qa", "", 3, 2, "Who?")


def test_answer_in_context_escapes_and_marks():
    from distilbert_demo.qa import Answer

    shown = views.answer_in_context("<b>Bob</b> met *Alice*.", [Answer("*Alice*", 15, 22, 0.5)])
    assert "<b>" not in shown and shown.count("<mark>") == 1
    assert "<mark>\\*Alice\\*</mark>" in shown


def test_the_page_is_laid_out_without_loading_any_weights(tiny_models, monkeypatch):
    """So a slow first load shows the page and its "loading…" banner, not a blank screen."""
    from distilbert_demo import loading

    def no_loading(*args, **kwargs):
        raise AssertionError("build_app loaded weights")

    monkeypatch.setattr(loading, "load_model", no_loading)
    overrides = {
        (t, s): tiny_models[f"{t}-{s}"] for t in ("fill-mask", "sentiment", "qa") for s in ("bert", "distilbert")
    }
    store = loading.ModelStore(overrides, allow_twin=False)
    app = ui.build_app(store)
    assert app is not None and store.loaded_pairs() == []
    assert ui.banner_text(store).count("loading…") == 3
