"""Benchmark: integrated gradients for one 64-token sentence on both models, and the step count
that keeps the convergence delta under 5% of the attributed logit change.

    python -m benchmarks.explain_speed [--task sentiment] [--steps 10 20 50 100 200] [--tokens 64]

Default checkpoints (offline: their twins, bert-base-sized). Prints, per step count and model, the
wall time of one attribution and |delta| as a share of |logit(input) - logit(baseline)|; then the
smallest step count under 5% for each model. gradient x input is timed once for comparison.
"""

from __future__ import annotations

import argparse
import time

import torch

from distilbert_demo import measure, resources
from distilbert_demo.explain import core
from distilbert_demo.loading import load_model

TARGET = 0.05


def sentence_of(tokenizer, tokens: int) -> str:
    """Real corpus text of exactly `tokens` tokens with [CLS] and [SEP] (built from word pieces' words)."""
    words, text = " ".join(resources.toy_corpus()).split(), []
    for word in words:
        if len(tokenizer(" ".join([*text, word]))["input_ids"]) > tokens:
            break
        text.append(word)
    return " ".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment", choices=["sentiment", "fill-mask"])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20, 50, 100, 200])
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    threads = measure.configure_threads(None)
    print(f"{measure.cpu_name()}, {threads} threads, torch {torch.__version__}")
    for side in ("bert", "distilbert"):
        model = load_model(args.task, side)
        text = sentence_of(model.tokenizer, args.tokens)
        if args.task == "fill-mask":
            words = text.split()
            words[len(words) // 2] = "[MASK]"
            text = " ".join(words)
        tokens = len(model.tokenizer(text)["input_ids"])
        started = time.perf_counter()
        core.explain_model(model, text, "gxi")
        print(f"{model.name} ({model.source}), {tokens} tokens: gradient x input {time.perf_counter() - started:.2f} s")
        enough = None
        for steps in args.steps:
            started = time.perf_counter()
            (row, *_), _ = core.explain_model(model, text, "ig", steps)
            wall = time.perf_counter() - started
            print(
                f"  ig {steps:>4} steps: {wall:6.2f} s, delta {row.delta:+.4g} = {row.relative_delta:.2%} of "
                f"{row.output - row.baseline_output:+.4g}"
            )
            if enough is None and row.relative_delta is not None and row.relative_delta < TARGET:
                enough = steps
        print(f"  fewest steps under {TARGET:.0%}: {enough if enough else 'none of those tried'}")


if __name__ == "__main__":
    main()
