"""The comparison: fields present, consistent, and agreement metrics against hand-computed values."""

import math

import pytest
import torch

from distilbert_demo import predict
from distilbert_demo.compare import core as compare
from distilbert_demo.loading import Pair, load_model


def test_fill_mask_comparison_fields(tiny_store):
    result = compare.compare_pair(tiny_store.pair("fill-mask"), "The [MASK] worked in the [MASK].", top_k=4, repeats=5)
    data = result.to_dict()
    assert data["task"] == "fill-mask"
    for side in ("bert", "distilbert"):
        model = data["models"][side]
        assert model["source"] == "local"
        assert model["params"] > 0 and model["weights_mb"] > 0 and model["peak_memory_mb"] > 0
        lat = model["latency_ms"]
        assert lat["runs"] == 5 and 0 < lat["median"] <= lat["p90"]
        assert len(model["predictions"]) == 2
        for mask in model["predictions"]:
            scores = [c["score"] for c in mask]
            assert len(mask) == 4 and scores == sorted(scores, reverse=True)
    assert data["models"]["bert"]["params"] == sum(
        p.numel() for p in tiny_store.pair("fill-mask").bert.model.parameters()
    )
    assert data["speedup"] == pytest.approx(
        data["models"]["bert"]["latency_ms"]["median"] / data["models"]["distilbert"]["latency_ms"]["median"], rel=2e-3
    )
    assert 0 <= data["agreement"]["js_divergence"] <= 1
    assert 0 <= data["agreement"]["topk_overlap"] <= 1
    assert data["verdict"].startswith("DistilBERT: ")
    assert data["threads"] == torch.get_num_threads()


def test_sentiment_comparison_fields(tiny_store):
    data = compare.compare_pair(tiny_store.pair("sentiment"), "The food was good.", repeats=3).to_dict()
    for side in ("bert", "distilbert"):
        preds = data["models"][side]["predictions"]
        assert {p["label"] for p in preds} == {"negative", "positive"}
        assert sum(p["score"] for p in preds) == pytest.approx(1.0, abs=1e-6)
    assert data["agreement"]["js_divergence"] is not None


def test_weights_bytes_are_exact(tiny_models):
    loaded = load_model("fill-mask", "bert", tiny_models["fill-mask-bert"], allow_twin=False)
    model = loaded.model
    # tied decoder weight counted once; buffers (position ids) included
    expected = sum(p.numel() * 4 for p in model.parameters()) + sum(
        b.numel() * b.element_size() for b in model.buffers()
    )
    assert loaded.weights_bytes == expected


def test_same_model_on_both_sides_agrees_perfectly(tiny_models):
    a = load_model("fill-mask", "bert", tiny_models["fill-mask-bert"], allow_twin=False)
    b = load_model("fill-mask", "distilbert", tiny_models["fill-mask-bert"], allow_twin=False)
    result = compare.compare_pair(Pair("fill-mask", a, b), "The [MASK] and the [MASK].", top_k=5, repeats=2)
    agree = result.agreement
    assert agree.top1_match and agree.top1_matches == agree.positions == 2
    assert agree.topk_overlap == 1.0
    assert agree.js_divergence == pytest.approx(0.0, abs=1e-9)
    assert "same top prediction at all 2 masks" in result.verdict()


def test_js_divergence_hand_values():
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    q = torch.tensor([[0.0, 1.0], [0.5, 0.5], [0.5, 0.5]])
    js = compare.js_divergence_bits(p, q)
    # disjoint -> 1 bit; identical -> 0; [1,0] vs [.5,.5]: m=[.75,.25]
    third = 0.5 * (math.log2(1 / 0.75)) + 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25))
    assert js.tolist() == pytest.approx([1.0, 0.0, third], abs=1e-12)


def test_agreement_counts_overlap_per_mask():
    def output(tokens_per_mask):
        preds = [[predict.Candidate(t, i, 1.0 / (i + 1)) for i, t in enumerate(tokens)] for tokens in tokens_per_mask]
        return predict.TaskOutput(predictions=preds, distributions=torch.zeros(len(preds), 3), support=[])

    a = output([["x", "y", "z", "w"], ["p", "q", "r", "s"]])
    b = output([["x", "z", "v", "u"], ["q", "p", "r", "s"]])
    agree = compare.agreement(a, b, same_support=False)
    assert agree.top1_matches == 1 and not agree.top1_match
    assert agree.topk_overlap == pytest.approx((2 / 4 + 4 / 4) / 2)
    assert agree.js_divergence is None


@pytest.mark.parametrize(("top_k", "repeats"), [(0, 5), (21, 5), (5, 0), (5, 201)])
def test_settings_out_of_range(tiny_store, top_k, repeats):
    with pytest.raises(compare.inputs.InputError):
        compare.compare_pair(tiny_store.pair("sentiment"), "ok", top_k=top_k, repeats=repeats)
