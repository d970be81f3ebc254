"""Benchmark: milliseconds per distillation step and steps per minute.

    python -m benchmarks.distill_speed [--steps 12] [--warmup 2]

Cases: the bert-base teacher (offline: its architecture twin) -> 6-layer student at batch 8 x 64
tokens, with L_ce on masked positions only (the default) and on every position; and a small
4-layer / 256-hidden teacher -> 2-layer student at batch 16 x 64. Each step is timed from the
training loop's own reports; the first `warmup` steps and the last (which also measures
held-out agreement) are left out.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from transformers import BertConfig, BertForMaskedLM

from distilbert_demo import measure
from distilbert_demo.distill import corpus
from distilbert_demo.distill.recipe import DistillConfig, Distiller
from distilbert_demo.loading import load_model


def time_steps(teacher, tokenizer, config: DistillConfig, warmup: int) -> list[float]:
    train, heldout = corpus.split(corpus.toy_corpus())
    distiller = Distiller(teacher, tokenizer, train, heldout[:8], config)
    marks = [0.0] + [report.elapsed_s for report in distiller.run()]
    step_ms = np.diff(marks) * 1000
    return list(step_ms[warmup:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    threads = measure.configure_threads(args.threads)
    base = load_model("fill-mask", "bert")
    small_config = BertConfig(
        vocab_size=base.model.config.vocab_size,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
    )
    torch.manual_seed(0)
    small = BertForMaskedLM(small_config).eval()
    cases = [
        (f"{base.name} ({base.source}) -> 6 layers, L_ce masked only", base.model, 8, True, False),
        (f"{base.name} ({base.source}) -> 6 layers, L_ce every token", base.model, 8, False, False),
        (f"{base.name} ({base.source}) -> 6 layers, masked only, bf16", base.model, 8, True, True),
        ("4-layer/256 teacher -> 2 layers, L_ce masked only", small, 16, True, False),
    ]
    print(
        f"distillation step time, {threads} threads, seq 64, {args.steps} steps ({args.warmup} warm-up and "
        f"the last left out), torch {torch.__version__}"
    )
    print(f"{'case':<62} {'batch':>5} {'median ms/step':>15} {'p90':>8} {'steps/min':>10}")
    for name, teacher, batch, masked_only, bf16 in cases:
        config = DistillConfig(
            steps=args.steps,
            batch_size=batch,
            seq_len=64,
            ce_on_masked_only=masked_only,
            bf16=bf16,
            eval_every=10**6,
            eval_sentences=8,
        )
        ms = time_steps(teacher, base.tokenizer, config, args.warmup)
        median = float(np.median(ms))
        print(f"{name:<62} {batch:>5} {median:>15.0f} {np.percentile(ms, 90):>8.0f} {60_000 / median:>10.1f}")


if __name__ == "__main__":
    main()
