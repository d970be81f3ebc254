"""Predictions equal transformers.pipeline on the same model and text (the independent reference)."""

import pytest
import torch
from transformers import pipeline

from distilbert_demo import inputs, predict
from distilbert_demo.loading import load_model

FILL_MASK_TEXTS = [
    "The capital of France is [MASK].",
    "After the storm, the [MASK] was covered in snow and the roads were [MASK].",
    "[MASK] dog and the [mask] cat were [MASK] friends.",
]


@pytest.mark.parametrize("side", ["bert", "distilbert"])
@pytest.mark.parametrize("text", FILL_MASK_TEXTS)
def test_fill_mask_equals_pipeline(tiny_models, side, text):
    loaded = load_model("fill-mask", side, tiny_models[f"fill-mask-{side}"], allow_twin=False)
    assert loaded.source == "local"
    prepared = inputs.prepare(text, "fill-mask", loaded.tokenizer, loaded.device)
    ours = predict.fill_mask(loaded, prepared, top_k=7).predictions

    reference = pipeline("fill-mask", model=tiny_models[f"fill-mask-{side}"], top_k=7)
    expected = reference(text.replace("[mask]", "[MASK]"))
    if isinstance(expected[0], dict):  # the pipeline drops the nesting for a single mask
        expected = [expected]
    assert len(ours) == len(expected) == len(prepared.mask_positions)
    for our_mask, ref_mask in zip(ours, expected):
        assert [c.token_id for c in our_mask] == [r["token"] for r in ref_mask]
        assert [c.token for c in our_mask] == [r["token_str"] for r in ref_mask]
        for c, r in zip(our_mask, ref_mask):
            assert c.score == pytest.approx(r["score"], abs=1e-5)


@pytest.mark.parametrize("side", ["bert", "distilbert"])
@pytest.mark.parametrize("text", ["The food was delicious.", "This movie was a complete waste of time."])
def test_sentiment_equals_pipeline(tiny_models, side, text):
    loaded = load_model("sentiment", side, tiny_models[f"sentiment-{side}"], allow_twin=False)
    prepared = inputs.prepare(text, "sentiment", loaded.tokenizer, loaded.device)
    ours = predict.sentiment(loaded, prepared).predictions

    reference = pipeline("text-classification", model=tiny_models[f"sentiment-{side}"], top_k=None)
    expected = reference([text])[0]  # a list in, one ranked list of labels per text out
    assert len(ours) == len(expected) == 2
    # SST-2 convention for the generic names; the distilbert checkpoint names its labels.
    names = {"LABEL_0": "negative", "LABEL_1": "positive", "NEGATIVE": "negative", "POSITIVE": "positive"}
    assert [p.label for p in ours] == [names[r["label"]] for r in expected]
    for p, r in zip(ours, expected):
        assert p.score == pytest.approx(r["score"], abs=1e-5)


def test_labels_are_normalised(tiny_models):
    bert = load_model("sentiment", "bert", tiny_models["sentiment-bert"], allow_twin=False)
    distil = load_model("sentiment", "distilbert", tiny_models["sentiment-distilbert"], allow_twin=False)
    assert bert.model.config.id2label == {0: "LABEL_0", 1: "LABEL_1"}
    assert distil.model.config.id2label == {0: "NEGATIVE", 1: "POSITIVE"}
    assert bert.labels == distil.labels == ["negative", "positive"]


def test_mask_only_head_matches_full_forward(tiny_models):
    """The vocabulary projection at mask positions equals slicing the full model's logits."""
    for side in ("bert", "distilbert"):
        loaded = load_model("fill-mask", side, tiny_models[f"fill-mask-{side}"], allow_twin=False)
        prepared = inputs.prepare(FILL_MASK_TEXTS[1], "fill-mask", loaded.tokenizer, loaded.device)
        with torch.inference_mode():
            full = loaded.model(**prepared.model_inputs()).logits[0, prepared.mask_positions]
            ours = predict.mask_logits(loaded.model, prepared)
        torch.testing.assert_close(ours, full)


def test_mask_only_head_does_less_work_than_the_full_projection(tiny_models):
    """Counted, not timed: the app's path skips the vocabulary projection at non-mask tokens."""
    from torch.utils.flop_counter import FlopCounterMode

    loaded = load_model("fill-mask", "bert", tiny_models["fill-mask-bert"], allow_twin=False)
    prepared = inputs.prepare("the [MASK] " + "dog " * 60, "fill-mask", loaded.tokenizer, loaded.device)
    with torch.inference_mode():
        with FlopCounterMode(display=False) as ours:
            predict.mask_logits(loaded.model, prepared)
        with FlopCounterMode(display=False) as full:
            loaded.model(**prepared.model_inputs())
    hidden, vocab, tokens = 32, loaded.model.config.vocab_size, prepared.num_tokens
    saved = full.get_total_flops() - ours.get_total_flops()
    # the head (transform hidden x hidden, then decoder hidden x vocab) runs at 1 token instead of T
    assert saved == 2 * (tokens - 1) * (hidden * hidden + hidden * vocab)
