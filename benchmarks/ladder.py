"""Benchmark: the compression ladder on this machine, at 16, 128 and 512 tokens, two runs side by side.

    python -m benchmarks.ladder [--task sentiment] [--lengths 16 128 512] [--runs 2] [--seconds 10]

Builds every variant of both models once (the default checkpoints: offline, their architecture
twins), scores each on the task's set, then times all of them together at each length, `runs` times;
prints one table per length with the runs side by side (median ms and speed-up over BERT fp32).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from distilbert_demo import measure, variants
from distilbert_demo.ladder import core
from distilbert_demo.loading import Pair, load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment", choices=core.TASKS)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128, 512])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--variants", nargs="+", default=list(variants.VARIANTS))
    args = parser.parse_args()
    threads = measure.configure_threads(None)
    pair = Pair(args.task, *(load_model(args.task, side) for side in ("bert", "distilbert")))
    print(f"{measure.cpu_name()}, {threads} threads, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as cache:
        built = core.build_and_score(
            pair, Path(cache), args.variants, progress=lambda what: print(f"  {what}", file=sys.stderr)
        )
        for row in built.rows:
            state = (
                f"{row.size_mb:7.1f} MB, built in {row.build_s:5.1f} s, accuracy {row.accuracy:.1%}, agreement "
                f"with fp32 {row.agreement_with_fp32:.1%}, max |dlogit| {row.max_abs_diff_vs_fp32:.2g}, median "
                f"|dlogit| {row.error:.2%} of fp32's spread{' (beyond the limit)' if row.strays else ''}"
                if row.available
                else f"unavailable: {row.reason}"
            )
            print(f"{row.label:<26} {state}")
        for seq_len in args.lengths:
            ladders = [core.time_ladder(built, seq_len, args.seconds) for _ in range(args.runs)]
            print(
                f"\n{seq_len} tokens, batch 1 ({args.seconds:g} s of timing per run; median ms / speed-up "
                "over BERT fp32; run by run)"
            )
            for index, row in enumerate(ladders[0].rows):
                if not row.available:
                    continue
                cells = [
                    f"{lad.rows[index].latency.median_ms:8.1f} ms {lad.rows[index].speedup:5.2f}x "
                    f"(n={lad.rows[index].latency.runs})"
                    for lad in ladders
                ]
                print(f"  {row.label:<26} " + " | ".join(cells))
            for lad in ladders:
                for note in lad.notes:
                    if note.startswith("other processes"):
                        print(f"  note: {note}")


if __name__ == "__main__":
    main()
