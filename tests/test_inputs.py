"""Bad input gets a clear one-line message; long input is truncated and the user is told."""

import pytest
import torch

from distilbert_demo import inputs
from distilbert_demo.inputs import InputError
from distilbert_demo.loading import load_model


@pytest.fixture(scope="module")
def bert(tiny_models):
    return load_model("fill-mask", "bert", tiny_models["fill-mask-bert"], allow_twin=False)


@pytest.mark.parametrize(
    ("text", "task", "message"),
    [
        ("", "fill-mask", "Please enter some text."),
        ("   \n\t ", "sentiment", "Please enter some text."),
        (None, "sentiment", "Please enter some text."),
        ("No mask here.", "fill-mask", "needs at least one [MASK]"),
        (" ".join(["[MASK]"] * 6), "fill-mask", "has 6 [MASK] tokens; at most 5 are supported"),
        ("a" * 10_001, "sentiment", "10,001 characters; the limit is 10,000"),
    ],
)
def test_check_text_refuses(text, task, message):
    with pytest.raises(InputError, match=None) as info:
        inputs.check_text(text, task)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_long_text_is_refused_before_tokenising(bert, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("tokenizer called")

    monkeypatch.setattr(type(bert.tokenizer), "__call__", boom)
    with pytest.raises(InputError):
        inputs.prepare("[MASK] " + "word " * 3000, "fill-mask", bert.tokenizer, torch.device("cpu"))


def test_over_512_tokens_is_truncated_with_a_notice(bert):
    text = "the [MASK] " + "dog " * 600 + "[MASK]"
    prepared = inputs.prepare(text, "fill-mask", bert.tokenizer, torch.device("cpu"))
    assert prepared.num_tokens == 512
    assert prepared.mask_positions == [2]
    assert any("only the first 512 were used" in n for n in prepared.notices)
    assert any("1 of 2 [MASK] tokens fell after the 512-token limit" in n for n in prepared.notices)


def test_every_mask_cut_off_is_an_error(bert):
    with pytest.raises(InputError, match="Every \\[MASK\\] falls after the 512-token limit"):
        inputs.prepare("dog " * 600 + "[MASK]", "fill-mask", bert.tokenizer, torch.device("cpu"))


def test_mask_case_and_glued_punctuation(bert):
    prepared = inputs.prepare("(the [mask]) and [Mask].", "fill-mask", bert.tokenizer, torch.device("cpu"))
    assert len(prepared.mask_positions) == 2
    ids = prepared.input_ids[0].tolist()
    assert all(ids[p] == bert.tokenizer.mask_token_id for p in prepared.mask_positions)
