"""Benchmark: a comparison timed while a distillation runs, with and without the pause.

    python -m benchmarks.contention [--repeats 30] [--rounds 3]

On the fill-mask pair (offline: the bert-base twins) the same Compare request is timed three
ways, `--rounds` times each, interleaved: on an idle app; while a distillation (bert-base
teacher -> 6-layer student, batch 8 x 64) runs, as the app does it (the distillation pauses
between two steps while the comparison is timed: measure.MACHINE); and while the distillation
runs with that pause switched off (what the app did before). It prints each way's median latency
per model and its ratio to idle: the paused way should stay within 15% of idle.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time

import numpy as np

from distilbert_demo import measure
from distilbert_demo.compare.core import compare_pair
from distilbert_demo.distill.core import make_distiller
from distilbert_demo.distill.recipe import DistillConfig
from distilbert_demo.loading import ModelStore

TEXT = "The weather was cold, so she made a cup of hot [MASK] before work."


class Distillation:
    """A distillation running in the background until stopped."""

    def __init__(self, store: ModelStore):
        config = DistillConfig(steps=100_000, batch_size=8, seq_len=64)
        self.distiller = make_distiller(store.pair("fill-mask").bert, config, max_steps=None)
        self.stop, self.steps = threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for _ in self.distiller.run(self.stop):
            self.steps += 1

    def __enter__(self):
        self.thread.start()
        while self.steps < 2:  # past its first steps
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def medians(store: ModelStore, repeats: int) -> dict[str, float]:
    result = compare_pair(store.pair("fill-mask"), TEXT, repeats=repeats)
    return {"bert": result.bert.latency.median_ms, "distilbert": result.distilbert.latency.median_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    threads = measure.configure_threads(args.threads)
    store = ModelStore()
    medians(store, 3)  # load and warm up
    seen: dict[str, list[dict[str, float]]] = {"idle": [], "paused": [], "not paused": []}
    for _ in range(args.rounds):
        seen["idle"].append(medians(store, args.repeats))
        with Distillation(store):
            seen["paused"].append(medians(store, args.repeats))
            real, measure.MACHINE = measure.MACHINE, contextlib.nullcontext()  # the pause switched off
            try:
                seen["not paused"].append(medians(store, args.repeats))
            finally:
                measure.MACHINE = real
    idle = {side: float(np.median([m[side] for m in seen["idle"]])) for side in ("bert", "distilbert")}
    load = os.getloadavg()[0]
    print(f"{threads} threads, load average {load:.2f}, {args.rounds} rounds x {args.repeats} timed runs per way")
    print(f"{'way':<12} {'BERT ms':>9} {'ratio':>7} {'DistilBERT ms':>14} {'ratio':>7}")
    for way, runs in seen.items():
        row = {side: float(np.median([m[side] for m in runs])) for side in ("bert", "distilbert")}
        print(
            f"{way:<12} {row['bert']:>9.1f} {row['bert'] / idle['bert']:>6.2f}x "
            f"{row['distilbert']:>14.1f} {row['distilbert'] / idle['distilbert']:>6.2f}x"
        )


if __name__ == "__main__":
    main()
