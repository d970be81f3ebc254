"""The FLOPs bound against torch's own count of a real forward pass (FlopCounterMode), and the
Compare verdict's use of it."""

import copy
import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from distilbert_demo import arithmetic, inputs, measure, predict, qa
from distilbert_demo.compare import core as compare

TEXTS = {
    "fill-mask": "The [MASK] sat on the mat and the dog ran after [MASK].",
    "sentiment": "A lovely, warm film about two old friends.",
    "qa": ("Who wrote the report?", "The report on city traffic was written by Maria Lopez in March."),
}


def counted(model, task):
    """torch's count of the products a forward pass runs, with attention spelled out as matrix
    products (the fused CPU attention kernel is not counted by FlopCounterMode)."""
    eager = copy.deepcopy(model.model)
    eager.set_attn_implementation("eager")
    model = dataclasses.replace(model, model=eager)
    text = TEXTS[task]
    if task == "qa":
        prepared = qa.prepare_qa(*text, model.tokenizer, model.device)
    else:
        prepared = inputs.prepare(text, task, model.tokenizer, model.device)
    forward = predict.production_forward(model, prepared)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        forward()
    return counter.get_total_flops(), prepared.num_tokens


@pytest.mark.parametrize("task", ["fill-mask", "sentiment", "qa"])
def test_the_flops_of_a_forward_pass_are_what_torch_counts(tiny_store, task):
    pair = tiny_store.pair(task)
    ratio = []
    for model in pair.sides():
        flops, tokens = counted(model, task)
        masks = TEXTS[task].count("[MASK]") if task == "fill-mask" else 1
        mine = arithmetic.forward_flops(model.model.config, tokens, task, masks)
        assert mine == pytest.approx(flops, rel=1e-9)
        ratio.append(flops)
    text = TEXTS[task]
    result = compare.compare_pair(
        pair, text[1] if task == "qa" else text, question=text[0] if task == "qa" else None, repeats=2
    )
    assert result.expected_speedup == pytest.approx(ratio[0] / ratio[1], rel=1e-9)
    assert result.speedup_interval.expected == result.expected_speedup


def test_only_an_interval_wholly_past_the_flops_ratio_and_the_margin_is_called_impossible():
    def speedup(slow, fast, expected):
        stats = [
            measure.LatencyStats.from_samples([ms * (1 + 0.01 * (i % 3)) for i in range(12)], 2) for ms in (slow, fast)
        ]
        return measure.Speedup.of(*stats, expected)

    plausible = speedup(100, 100 / (2.0 * (1 + arithmetic.IMPLEMENTATION_MARGIN / 2)), 2.0)
    assert not plausible.past_bound and "⚠" not in plausible.text()
    impossible = speedup(100, 25, 2.0)
    assert impossible.past_bound and impossible.text().endswith("⚠")
    assert impossible.bound == pytest.approx(2.0 * (1 + arithmetic.IMPLEMENTATION_MARGIN))
    assert "faster than the arithmetic allows (the FLOPs ratio at these token counts is 2.00x" in impossible.warning()
    assert "rerun" not in impossible.warning()
    unbounded = speedup(100, 10, None)  # different precisions: no bound applies
    assert not unbounded.past_bound and unbounded.to_dict()["bound"] is None
