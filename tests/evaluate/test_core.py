"""Evaluation on a labelled set, checked by hand on models whose predictions are known."""

import json

import pytest
import torch

from distilbert_demo import labelled
from distilbert_demo.evaluate import core as evaluate
from distilbert_demo.inputs import InputError
from distilbert_demo.loading import Pair, load_model

from ..test_cli import run_cli

# 7 positive, 3 negative
DATA = labelled.LabelledSet(
    texts=[f"sentence number {i} about the food" + " and the staff" * (i % 4) for i in range(10)],
    labels=["positive"] * 7 + ["negative"] * 3,
    name="hand-made",
)


def constant_model(tiny_models, side: str, label: str):
    """A sentiment model that answers `label` whatever the text: its classifier sees only its bias."""
    loaded = load_model("sentiment", side, tiny_models[f"sentiment-{side}"], allow_twin=False)
    with torch.no_grad():
        loaded.model.classifier.weight.zero_()
        loaded.model.classifier.bias.copy_(torch.tensor([5.0, 0.0] if label == "negative" else [0.0, 5.0]))
    return loaded


def test_accuracy_ci_retention_confusion_by_hand(tiny_models):
    pair = Pair(
        "sentiment",
        constant_model(tiny_models, "bert", "positive"),
        constant_model(tiny_models, "distilbert", "negative"),
    )
    result = evaluate.evaluate(pair, DATA, batch_size=4)
    assert result.bert.predictions == ["positive"] * 10
    assert result.distilbert.predictions == ["negative"] * 10
    assert result.bert.accuracy == 0.7 and result.distilbert.accuracy == 0.3
    # Wilson 95% for 7/10 and 3/10 (z = 1.959964), worked out with 30-digit decimal arithmetic
    assert result.bert.ci95 == pytest.approx((0.396778, 0.892209), abs=1e-5)
    assert result.distilbert.ci95 == pytest.approx((0.107791, 0.603222), abs=1e-5)
    assert result.retention == pytest.approx(0.3 / 0.7)
    assert result.agreement == 0.0
    # rows: true negative, true positive; columns: predicted negative, predicted positive
    assert result.bert.confusion() == [[0, 3], [0, 7]]
    assert result.distilbert.confusion() == [[3, 0], [7, 0]]
    assert len(result.cases()) == 10  # they disagree everywhere
    # 7 of 10 cannot be told from guessing: no retention headline (it used to say "keeps 42.9%")
    assert result.verdict().startswith(
        "Retention is undefined here: neither BERT's 70.0% nor DistilBERT's 30.0% can be told from chance"
    )
    data = result.to_dict()
    assert data["models"]["bert"]["ci95"] == pytest.approx([0.396778, 0.892209], abs=1e-5)
    assert data["models"]["bert"]["examples_per_second"] > 0


def test_identical_models_agree_and_keep_everything(tiny_models):
    a = constant_model(tiny_models, "bert", "positive")
    b = constant_model(tiny_models, "bert", "positive")
    result = evaluate.evaluate(Pair("sentiment", a, b), DATA)
    assert result.retention == 1.0 and result.agreement == 1.0
    assert list(result.cases()["label"]) == ["negative"] * 3  # only the examples both get wrong


def test_batching_does_not_change_predictions(tiny_store):
    data = labelled.load_labelled_file(None)
    one = evaluate.evaluate(tiny_store.pair("sentiment"), data, batch_size=1)
    many = evaluate.evaluate(tiny_store.pair("sentiment"), data, batch_size=7)
    assert one.bert.predictions == many.bert.predictions
    assert one.distilbert.positive_probability == pytest.approx(many.distilbert.positive_probability, abs=1e-5)


def test_shipped_set_is_balanced_and_varied():
    data = labelled.load_labelled_file(None)
    assert len(data) >= 200 and data.labels.count("positive") == data.labels.count("negative")
    assert len(set(data.texts)) == len(data)
    assert sum(" not " in f" {t.lower()} " or "n't" in t for t in data.texts) >= 20  # negation


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"sentence,label\nnice,positive\n", "missing: text"),
        (b"text,sentiment\nnice,positive\n", "missing: label"),
        (b"text,label\nnice,great\n", "Row 2 has an unknown label 'great'"),
        (b"text,label\nnice,positive\n,\n", "Row 3 is empty"),
        (b"text,label\n,positive\n", "Row 2 has no text"),
        (b"text,label\n", "header but no rows"),
        (b"text,label\n\xff\xfe,positive\n", "not UTF-8"),
        (b"text,label\n" + b"x" * 2001 + b",positive\n", "the limit per row is 2,000"),
        (b"text,label\n" + b"ok,positive\n" * 5001, "the limit is 5,000"),
    ],
)
def test_bad_csv_files_get_clear_messages(content, message):
    with pytest.raises(InputError, match=None) as info:
        labelled.parse_labelled_csv(content, "upload.csv")
    assert message in str(info.value)


def test_label_spellings_and_oversized_and_wrong_files(tmp_path):
    data = labelled.parse_labelled_csv(b"Text,Label\ngood,POSITIVE\nbad,neg\nfine,1\nawful,0\n", "x.csv")
    assert data.labels == ["positive", "negative", "positive", "negative"]
    big = tmp_path / "big.csv"
    big.write_bytes(b"text,label\n" + b"a" * (2 * 2**20))
    with pytest.raises(InputError, match=r"the limit is 2,097,152 bytes \(2 MiB\)"):
        labelled.load_labelled_file(str(big))
    wrong = tmp_path / "data.txt"
    wrong.write_text("text,label\n")
    with pytest.raises(InputError, match="give a .csv file"):
        labelled.load_labelled_file(str(wrong))


def test_cli_evaluate_json(tiny_models, tmp_path):
    csv = tmp_path / "set.csv"
    csv.write_text("text,label\nlovely place,positive\nawful food,negative\nnot bad at all,positive\n")
    proc = run_cli(
        "evaluate",
        "--data",
        str(csv),
        "--json",
        "--bert",
        tiny_models["sentiment-bert"],
        "--distilbert",
        tiny_models["sentiment-distilbert"],
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for side in ("bert", "distilbert"):
        model = data["models"][side]
        assert set(model) >= {"accuracy", "ci95", "examples_per_second"}
        assert 0 <= model["ci95"][0] <= model["accuracy"] <= model["ci95"][1] <= 1
    assert set(data) >= {"retention", "agreement"}
    bad = tmp_path / "bad.csv"
    bad.write_text("text\nhello\n")
    proc = run_cli("evaluate", "--data", str(bad), "--bert", tiny_models["sentiment-bert"])
    assert proc.returncode == 2 and proc.stderr.strip() == "error: The CSV needs columns text,label; missing: label."
