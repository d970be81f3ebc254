"""Benchmark: the app's fill-mask path against transformers.pipeline("fill-mask").

Both run on the same model and sentence, end to end (tokenise, forward, top-k, decode),
interleaved run by run so machine noise hits both alike. The app's path projects onto the
vocabulary only at the [MASK] position; the pipeline projects every token.

    python -m benchmarks.fill_mask_path [--model bert|distilbert|both] [--tokens 128] [--repeats 30]

Offline it runs on the untrained twins (exact architectures), which is what the README's
figures record.
"""

from __future__ import annotations

import argparse

import torch
from transformers import pipeline

from distilbert_demo import inputs, measure, predict
from distilbert_demo.loading import load_model


def sentence_of(tokenizer, tokens: int) -> str:
    """A sentence that tokenises to about `tokens` tokens, one [MASK] in the middle."""
    words = "the quick brown fox jumps over the lazy dog near the river bank on a sunny day".split()
    text_words = []
    while len(tokenizer(" ".join(text_words + ["[MASK]"]))["input_ids"]) < tokens:
        text_words.append(words[len(text_words) % len(words)])
    text_words.insert(len(text_words) // 2, "[MASK]")
    return " ".join(text_words[:-1])


def bench(side: str, tokens: int, repeats: int, top_k: int) -> dict:
    loaded = load_model("fill-mask", side)
    fill_mask = pipeline("fill-mask", model=loaded.model, tokenizer=loaded.tokenizer, top_k=top_k)
    text = sentence_of(loaded.tokenizer, tokens)

    def app_path():
        prepared = inputs.prepare(text, "fill-mask", loaded.tokenizer, loaded.device)
        return predict.fill_mask(loaded, prepared, top_k)

    def pipeline_path():
        return fill_mask(text)

    ours = [(c.token, round(c.score, 5)) for c in app_path().predictions[0]]
    theirs = [(r["token_str"], round(r["score"], 5)) for r in pipeline_path()]
    assert ours == theirs, "the two paths disagree"
    stats = measure.time_interleaved({"app": app_path, "pipeline": pipeline_path}, repeats=repeats, warmup=3)
    n_tokens = len(loaded.tokenizer(text)["input_ids"])
    return {"side": side, "name": loaded.name, "source": loaded.source, "tokens": n_tokens, **stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["bert", "distilbert", "both"], default="both")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    threads = measure.configure_threads(args.threads)
    sides = ["bert", "distilbert"] if args.model == "both" else [args.model]
    print(
        f"fill-mask path vs transformers.pipeline: {threads} threads, {args.repeats} interleaved runs each, "
        f"after 3 warm-up (torch {torch.__version__})"
    )
    print(
        f"{'model':<32} {'tokens':>6} {'app median':>11} {'app p90':>9} {'pipeline median':>16} "
        f"{'pipeline p90':>13} {'pipeline/app':>13}"
    )
    for side in sides:
        r = bench(side, args.tokens, args.repeats, args.top_k)
        app, pipe = r["app"], r["pipeline"]
        label = f"{r['name']} ({r['source']})"
        print(
            f"{label:<32} {r['tokens']:>6} {app.median_ms:>9.1f}ms {app.p90_ms:>7.1f}ms "
            f"{pipe.median_ms:>14.1f}ms {pipe.p90_ms:>11.1f}ms {pipe.median_ms / app.median_ms:>12.2f}x"
        )


if __name__ == "__main__":
    main()
