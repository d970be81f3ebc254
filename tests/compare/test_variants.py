"""Compare with each side in a variant: "BERT fp32 vs DistilBERT int8" in one call."""

import json

import pytest
import torch

from distilbert_demo import cli, variants
from distilbert_demo.compare.tab import INPUTS, check, compare_handler
from distilbert_demo.tabs import validator


@pytest.fixture(scope="module")
def handler(tiny_store):
    return compare_handler(tiny_store)


def test_distilbert_int8_against_bert_fp32(handler, tiny_store):
    notice, *_, raw = handler("sentiment", "A lovely, warm film.", 5, 3, "", None, "fp32", "int8")
    assert "DistilBERT runs as int8, a lossy variant" in notice
    assert "BERT runs as" not in notice.replace("DistilBERT", "")  # fp32 is the reference: nothing to say
    bert, distil = raw["models"]["bert"], raw["models"]["distilbert"]
    assert bert["name"] == tiny_store.pair("sentiment").bert.name
    assert distil["name"].endswith(" (int8)")
    kept = variants.KEPT.get(tiny_store.pair("sentiment").distilbert, "int8", None)
    assert distil["weights_mb"] == pytest.approx(kept.size_bytes / 2**20, abs=1e-3)  # as saved, packed int8
    assert distil["params"] == tiny_store.pair("sentiment").distilbert.params  # the original's count
    # the quantised model's own answer, computed here
    model = tiny_store.pair("sentiment").distilbert
    with torch.inference_mode():
        probs = kept.module(**model.tokenizer("A lovely, warm film.", return_tensors="pt")).logits.softmax(-1)[0]
    best = model.labels[int(probs.argmax())]
    assert distil["predictions"][0]["label"] == best
    assert distil["predictions"][0]["score"] == pytest.approx(float(probs.max()), abs=1e-6)


def test_onnx_runtime_on_both_sides_gives_fp32_answers(handler):
    *_, fp32 = handler("fill-mask", "The [MASK] sat on the mat.", 5, 3)
    *_, onnx = handler("fill-mask", "The [MASK] sat on the mat.", 5, 3, "", None, "onnx-fp32", "onnx-fp32")
    for side in ("bert", "distilbert"):
        ours, theirs = fp32["models"][side]["predictions"][0], onnx["models"][side]["predictions"][0]
        assert [c["token"] for c in ours] == [c["token"] for c in theirs]
        assert [c["score"] for c in ours] == pytest.approx([c["score"] for c in theirs], abs=1e-5)
        assert onnx["models"][side]["peak_memory_mb"] is None  # ONNX Runtime's memory is not PyTorch's to see


@pytest.mark.parametrize(
    ("task", "bert", "distil", "field", "message"),
    [
        ("qa", "int8", "fp32", "bert_variant", "question answering runs in fp32"),
        ("sentiment", "fp32", "fp4", "distilbert_variant", "unknown variant 'fp4'"),
    ],
)
def test_a_variant_that_cannot_run_is_refused_next_to_its_control(task, bert, distil, field, message):
    validate = validator(INPUTS, check, blame="text")
    text = "Paris is in France." if task == "qa" else "Fine."
    statuses = validate(task, text, 5, 3, "Where is Paris?", None, bert, distil)
    refused = [s for s in statuses if not s["is_valid"]]
    assert len(refused) == 1 and message in refused[0]["message"]
    assert statuses[INPUTS.index(field)] is refused[0]


def test_cli_compare_runs_a_side_as_a_variant(tiny_models, capsys):
    code = cli.main(
        [
            "compare",
            "--task",
            "sentiment",
            "--text",
            "Nice.",
            "--bert",
            tiny_models["sentiment-bert"],
            "--distilbert",
            tiny_models["sentiment-distilbert"],
            "--distilbert-variant",
            "onnx-int8",
            "--repeats",
            "2",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["models"]["distilbert"]["name"].endswith("(onnx-int8)")
    assert data["models"]["distilbert"]["peak_memory_mb"] is None
    refused = ["compare", "--task", "qa", "--question", "Who?", "--context", "Bob.", "--bert-variant", "int8"]
    assert cli.main(refused) == 2
    assert "question answering runs in fp32" in capsys.readouterr().err
