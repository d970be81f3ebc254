"""Benchmark: how far DistilBERT's measured speed-up over BERT goes past the FLOPs ratio on a quiet
machine, the margin behind arithmetic.IMPLEMENTATION_MARGIN.

    python -m benchmarks.flops_bound [--seconds 6] [--tasks fill-mask sentiment qa]

Runs the Compare tab's own comparison (compare_pair: interleaved runs, the production path) on every
shipped example of each task, on the default checkpoints (offline: their twins, whose speed is the
real models'), and prints per example the token counts, the FLOPs ratio at those counts
(arithmetic.expected_speedup), the measured speed-up with its 95% interval, and the measured median
over the FLOPs ratio. Run it with nothing else on the machine: the margin is the largest excess a
quiet machine shows, so that only a disturbed timing goes past it.
"""

from __future__ import annotations

import argparse

import torch

from distilbert_demo import arithmetic, measure, resources
from distilbert_demo.compare import core as compare
from distilbert_demo.loading import Pair, load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--tasks", nargs="+", default=["fill-mask", "sentiment", "qa"])
    args = parser.parse_args()
    threads = measure.configure_threads(None)
    print(
        f"{measure.cpu_name()}, {threads} threads, torch {torch.__version__}; "
        f"margin now {arithmetic.IMPLEMENTATION_MARGIN:.0%}"
    )
    worst = 0.0
    for task in args.tasks:
        pair = Pair(task, *(load_model(task, side) for side in ("bert", "distilbert")))
        for number, example in enumerate(resources.examples()[task], start=1):
            question, text = (example[0], example[1]) if task == "qa" else (None, example)
            result = compare.compare_pair(pair, text, question=question, budget_s=args.seconds)
            interval = result.speedup_interval
            excess = result.speedup / result.expected_speedup - 1
            worst = max(worst, excess)
            print(
                f"{task} #{number}: {result.bert.num_tokens} / {result.distilbert.num_tokens} tokens, FLOPs ratio "
                f"{result.expected_speedup:.2f}x, measured {result.speedup:.2f}x (95% CI {interval.low:.2f}-"
                f"{interval.high:.2f}, n={result.bert.latency.runs}), {excess:+.1%} over the FLOPs ratio; other "
                f"processes {result.outside_load:.0%}"
            )
    print(f"largest excess over the FLOPs ratio: {worst:+.1%}")


if __name__ == "__main__":
    main()
