"""Benchmark: do the ladder's compiled rungs build faster after a restart? (torch inductor's on-disk cache)

    HF_HUB_OFFLINE=1 python -m benchmarks.compile_restart [--task sentiment] [--starts 2]

The ONNX exports are kept across restarts by the app itself (storage.KEPT_EXPORTS); the compiled
rungs (`bf16-compiled`, `int8-compiled`) rely on inductor's own caches (FX graph and AOTAutograd,
on by default) in TORCHINDUCTOR_CACHE_DIR. This builds both rungs of both models (the default
checkpoints: offline, their architecture twins) in `--starts` fresh processes that share one new
cache folder, as a restarted app would, and prints each build's time and the cache's size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RUNGS = ("bf16-compiled", "int8-compiled")


def one_start(task: str) -> None:
    """In a fresh process: build each compiled rung of both models once; print the times as JSON."""
    from distilbert_demo import measure, variants
    from distilbert_demo.loading import load_model

    measure.configure_threads(None)
    times = {}
    with tempfile.TemporaryDirectory() as onnx:
        for side in ("bert", "distilbert"):
            loaded = load_model(task, side)
            for rung in RUNGS:
                times[f"{side} {rung}"] = variants.build(loaded, rung, Path(onnx)).build_s
    print("RESULT " + json.dumps(times))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--one-start", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_start:
        one_start(args.task)
        return
    from distilbert_demo import measure

    starts = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
        for start in range(1, args.starts + 1):
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.compile_restart", "--one-start", "--task", args.task],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            times = json.loads(done.stdout.split("RESULT ", 1)[1])
            starts.append(times)
            size = folder_bytes(Path(cache)) / 2**20
            built = ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
            print(f"start {start}: {built}; cache {size:.0f} MiB", flush=True)
    print(f"\n{measure.cpu_name()}, {args.task}, build time (s) per start, a fresh process each, one inductor cache:")
    print("| build | " + " | ".join(f"start {i}" for i in range(1, len(starts) + 1)) + " |")
    print("|---|" + "---|" * len(starts))
    for key in starts[0]:
        print(f"| {key} | " + " | ".join(f"{s[key]:.1f}" for s in starts) + " |")


if __name__ == "__main__":
    main()
