"""Cross-check: the app's latency figure against torch.utils.benchmark.Timer, same forward pass.

For each point the app's sweep (warm-up, interleaved runs, median) and an independent
`torch.utils.benchmark.Timer(...).blocked_autorange()` (with `num_threads` set to the same fixed
count; Timer defaults to ONE thread otherwise) time the same production forward of each model in
the same run. The two medians should agree within 15%.

    python -m benchmarks.timer_crosscheck [--seq-lens 16,128] [--batch-sizes 1,8] [--repeats 20]
"""

from __future__ import annotations

import argparse

import torch
from torch.utils import benchmark

from distilbert_demo import measure, sized_inputs
from distilbert_demo.bench import core as bench
from distilbert_demo.loading import ModelStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-lens", default="16,128")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    threads = measure.configure_threads(args.threads)
    pair = ModelStore().pair("fill-mask")
    seq_lens = [int(t) for t in args.seq_lens.split(",")]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    print(f"app median vs torch.utils.benchmark.Timer median, {threads} threads, fp32, {pair.bert.device}")
    print(f"{'model':<12} {'tokens':>6} {'batch':>5} {'app ms':>9} {'Timer ms':>9} {'app/Timer':>10}")
    worst = 0.0
    for item in bench.sweep(pair, seq_lens, batch_sizes, "fp32", repeats=args.repeats, baseline=False):
        if not isinstance(item, bench.BenchRow):
            continue
        loaded = pair.bert if item.model == "bert" else pair.distilbert
        ids = sized_inputs.ids_of_length(loaded.tokenizer, item.seq_len, with_mask=True)
        inputs = sized_inputs.batch_inputs(loaded, ids, item.batch_size)
        run = bench.production_run(loaded.model, inputs, "fill-mask", mask_index=1 + len(ids) // 2)
        timer = benchmark.Timer(
            stmt="with torch.inference_mode(): run()",
            globals={"run": run, "torch": torch},
            num_threads=threads,
        )
        reference_ms = timer.blocked_autorange(min_run_time=2.0).median * 1000
        ratio = item.median_ms / reference_ms
        worst = max(worst, abs(ratio - 1))
        print(
            f"{item.model:<12} {item.seq_len:>6} {item.batch_size:>5} {item.median_ms:>9.1f} "
            f"{reference_ms:>9.1f} {ratio:>10.3f}"
        )
    print(f"largest difference: {worst:.1%} ({'within' if worst <= 0.15 else 'OUTSIDE'} the 15% bound)")


if __name__ == "__main__":
    main()
