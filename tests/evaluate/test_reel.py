"""The disagreement reel: which examples, in which order, what each step shows, and the CSV's tokens."""

import pandas as pd
import pytest

from distilbert_demo import labelled
from distilbert_demo.evaluate import core as evaluate
from distilbert_demo.evaluate import views as evaluate_views
from distilbert_demo.evaluate.tab import reel_handler
from distilbert_demo.kept import KEPT
from distilbert_demo.layer_map import default_layer_map
from distilbert_demo.loading import Pair

TEXTS = ["good food", "bad food", "fine staff", "awful staff", "nice place"]
LABELS = ["positive", "negative", "positive", "negative", "positive"]


BERT = (["positive", "negative", "negative", "negative", "positive"], [0.9, 0.2, 0.3, 0.1, 0.6])
DISTIL = (["positive", "positive", "positive", "positive", "negative"], [0.8, 0.95, 0.7, 0.55, 0.45])


def _evaluation(bert, bert_pos, distil, distil_pos):
    data = labelled.LabelledSet(TEXTS, LABELS, "hand-made")
    return evaluate.Evaluation(
        data,
        evaluate.ModelEvaluation("b", bert, bert_pos, 1.0, LABELS),
        evaluate.ModelEvaluation("d", distil, distil_pos, 1.0, LABELS),
    )


def test_the_reel_holds_the_disagreements_the_wrong_models_most_confident_first():
    result = _evaluation(*BERT, *DISTIL)
    reel = result.reel()
    # rows 1-4 disagree; the wrong model and its confidence in its own (wrong) answer:
    # 1: DistilBERT says positive at 0.95; 2: BERT says negative at 0.7; 3: DistilBERT positive at 0.55;
    # 4: DistilBERT says negative at 0.55 (1 - 0.45)
    assert [(c.index, c.wrong, round(c.wrong_confidence, 2)) for c in reel] == [
        (1, "distilbert", 0.95),
        (2, "bert", 0.7),
        (3, "distilbert", 0.55),
        (4, "distilbert", 0.55),
    ]
    case = reel[0]
    assert (case.bert, case.bert_probability, case.distilbert) == ("negative", pytest.approx(0.8), "positive")


def test_the_csv_keeps_every_case_with_the_top_tokens_computed_for_it():
    result = _evaluation(*BERT, *DISTIL)
    frame = result.cases_with_tokens({1: {"bert": ["bad", "food"], "distilbert": ["food", "bad"]}}, "gxi")
    assert list(frame["text"]) == list(result.cases()["text"])  # one row per case, as before
    row = frame[frame["text"] == "bad food"].iloc[0]
    assert (row["bert_top_tokens_gxi"], row["distilbert_top_tokens_gxi"]) == ("bad food", "food bad")
    assert set(frame[frame["text"] != "bad food"]["bert_top_tokens_gxi"]) == {"(not computed)"}
    assert isinstance(frame, pd.DataFrame)


def test_a_step_of_the_reel_shows_both_models_saliency_and_the_aligned_attention(tiny_store):
    case = evaluate.ReelCase(
        0, "The food was cold and the staff rude.", "negative", "positive", 0.8, "negative", 0.6, "bert"
    )
    show = reel_handler(tiny_store)
    where, text, saliency, explained, attention, position = show(KEPT.put("local", [case, case]), 5)
    assert position == 1  # past the end: the last case, and the page's position with it (Previous goes to 1)
    assert where.startswith("**Disagreement 2 of 2**") and "✗ wrong" in text and "convergence delta" in explained
    assert "Untrained twins" not in text  # tiny trained-from-nothing checkpoints, but not twins
    assert "\n| truth | negative |" in text  # a Markdown table, not escaped text
    assert len(saliency.data) == 2  # one row of tokens per model
    pair: Pair = tiny_store.pair("sentiment")
    tokens = pair.bert.tokenizer.tokenize(case.text)
    assert list(saliency.data[0].text[0]) == ["[CLS]", *tokens, "[SEP]"]
    distil_layers = pair.distilbert.model.config.n_layers
    source = default_layer_map(pair.bert.model.config.num_hidden_layers, distil_layers)[-1]
    titles = [a.text for a in attention.layout.annotations][:2]
    assert titles == [f"BERT layer {source} (mean of heads)", f"DistilBERT layer {distil_layers - 1} (mean of heads)"]
    assert show(KEPT.put("local", []), 0)[0].startswith("No disagreements to show")
    assert show(None, 0)[0].startswith("No disagreements to show")  # before any evaluation
    # a reel the server no longer keeps, or another visitor's, is said plainly
    assert "This view expired on the server" in show("a-key-it-never-had", 0)[1]  # where the case was
    assert "press Evaluate again" in show(KEPT.put("someone else", [case]), 0)[1]


def test_a_reel_case_on_twins_says_its_answers_mean_nothing_once():
    case = evaluate.ReelCase(3, "Cold soup.", "negative", "positive", 0.6, "negative", 0.55, "bert")
    on_twins = evaluate_views.reel_case(case, untrained=True)
    assert on_twins.count(evaluate_views.UNTRAINED_REEL) == 1
    assert on_twins.index("| truth |") < on_twins.index(evaluate_views.UNTRAINED_REEL)  # under the answers
    assert evaluate_views.UNTRAINED_REEL not in evaluate_views.reel_case(case)
    assert evaluate_views.reel_position(case, 0, 7).startswith("**Disagreement 1 of 7** · example 4 ·")
