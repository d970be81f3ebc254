"""What a forward pass costs in floating-point operations, from a model's config: the physical bound
on how much faster one model can run than another on the same hardware and code path.

Counted: every matrix product (2 FLOPs a multiply-add): each layer's query, key, value and output
projections, its attention scores and weighted sums, its feed-forward pair, and the task head (the
vocabulary projection at the masks for fill-mask, the span classifier at every token for question
answering, the pooler and classifier for sentiment). The embedding lookup has no products;
softmax, layer norms and GELUs are a few percent at BERT's width and are left out on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

# How far past the FLOPs ratio DistilBERT's speed-up may go on a quiet machine: the two
# implementations' per-layer overheads differ a little. Measured (median over the FLOPs ratio, batch 1,
# every shipped example): at most +3.6% on this project's 2-core AMD EPYC (benchmarks/flops_bound.py,
# README), +4.5% in an independent timing on its Intel Xeon (2.09x at a 2.0x ratio); twice the larger
# is kept, so that only a disturbed timing goes past it. A speed-up is called impossible only when
# its whole 95% interval lies beyond the FLOPs ratio times (1 + this).
IMPLEMENTATION_MARGIN = 0.10


@dataclass(frozen=True)
class Shape:
    layers: int
    width: int  # hidden size
    inner: int  # feed-forward size
    vocabulary: int
    labels: int

    @classmethod
    def of(cls, config) -> Shape:
        """BERT's config names (hidden_size, ...) or DistilBERT's (dim, ...)."""

        def first(*names, default=0):
            return next((getattr(config, n) for n in names if getattr(config, n, None) is not None), default)

        return cls(
            layers=first("num_hidden_layers", "n_layers"),
            width=first("hidden_size", "dim"),
            inner=first("intermediate_size", "hidden_dim"),
            vocabulary=first("vocab_size"),
            labels=first("num_labels", default=2),
        )


def forward_flops(config, tokens: int, task: str, masks: int = 1) -> float:
    """FLOPs of one forward pass over `tokens` tokens (batch 1) for `task`."""
    s, n = Shape.of(config), tokens
    per_layer = 2 * (4 * n * s.width * s.width + 2 * n * n * s.width + 2 * n * s.width * s.inner)
    if task == "fill-mask":  # the transform and the vocabulary projection, at the masks only
        head = 2 * masks * (s.width * s.width + s.width * s.vocabulary)
    elif task == "qa":  # start and end logits at every token
        head = 2 * n * s.width * 2
    else:  # pooler (or pre-classifier) and classifier, on the first token
        head = 2 * (s.width * s.width + s.width * s.labels)
    return s.layers * per_layer + head


def expected_speedup(slow_config, slow_tokens: int, fast_config, fast_tokens: int, task: str, masks: int = 1) -> float:
    """The FLOPs ratio of the two forward passes at their own token counts."""
    return forward_flops(slow_config, slow_tokens, task, masks) / forward_flops(fast_config, fast_tokens, task, masks)
