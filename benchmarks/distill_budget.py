"""Benchmark: does a one-minute distillation fit its minute? Wall time and steps achieved.

    python -m benchmarks.distill_budget [--seconds 60] [--runs 5]

Two teachers, as the Distill tab runs them by default (batch 8 x 64, L_ce at masked positions,
bf16 where the processor has bf16 units): the bert-base teacher (offline: its architecture twin)
and a small 4-layer / 256-hidden one. Each run times its first steps, plans the rest, and must
end within its budget (one step over at most); this prints, per run, the wall time, the steps it
planned and the steps it made.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from transformers import BertConfig, BertForMaskedLM

from distilbert_demo import measure
from distilbert_demo.distill import corpus
from distilbert_demo.distill.recipe import DistillConfig, Distiller, bf16_is_fast
from distilbert_demo.loading import load_model


def one_run(teacher, tokenizer, seconds: float, bf16: bool) -> tuple[float, int, int, str]:
    train, heldout = corpus.split(corpus.toy_corpus())
    distiller = Distiller(teacher, tokenizer, train, heldout, DistillConfig(seconds=seconds, bf16=bf16))
    started = time.perf_counter()
    for _ in distiller.run():
        pass
    return time.perf_counter() - started, distiller.plan.steps, len(distiller.result.history), distiller.plan.text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    threads = measure.configure_threads(args.threads)
    base = load_model("fill-mask", "bert")
    bf16 = bf16_is_fast(base.device)
    torch.manual_seed(0)
    small = BertForMaskedLM(
        BertConfig(
            vocab_size=base.model.config.vocab_size,
            hidden_size=256,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=1024,
        )
    ).eval()
    where = f"{threads} threads on {measure.cpu_name()}"
    print(f"{args.seconds:g} s budget, {where}, bf16 {bf16}, torch {torch.__version__}")
    for name, teacher in ((f"{base.name} ({base.source})", base.model), ("4-layer/256 teacher", small)):
        walls, made = [], []
        for _ in range(args.runs):
            wall, planned, steps, plan = one_run(teacher, base.tokenizer, args.seconds, bf16)
            walls.append(wall)
            made.append(steps)
            print(f"  {name}: {wall:.1f} s, {steps} steps made of {planned} planned ({plan})")
        print(
            f"{name}: wall {min(walls):.1f}-{max(walls):.1f} s (median {np.median(walls):.1f}), "
            f"steps {min(made)}-{max(made)}"
        )


if __name__ == "__main__":
    main()
