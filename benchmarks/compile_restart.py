"""Benchmark: the ladder's compiled rungs across a restart (AOTInductor packages kept on disk)

    HF_HUB_OFFLINE=1 python -m benchmarks.compile_restart [--task sentiment] [--starts 2] [--seq-len 128]

The compiled rungs (`bf16-compiled`, `int8-compiled`) are AOTInductor packages kept in the ladder's
cache folder (variants.compiled_package). This builds both rungs of both models (the default
checkpoints: offline, their architecture twins) in `--starts` fresh processes that share one new
cache folder, as a restarted app would, and prints each build's time and the packages' size. In
the first start it also builds each rung the way the ladder did before (torch.compile with
freezing, dynamic shapes, the same graph: inductor's own cache cannot keep it across a restart,
its counter `fxgraph_cache_bypass`) and times the two side by side, interleaved, at `--seq-len`
tokens, batch 1: a package must not be slower than what it replaces.
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


def torch_compiled(loaded, rung: str):
    """The rung as the ladder built it before the packages: torch.compile with freezing, dynamic."""
    import torch
    import torch._inductor.config as inductor

    from distilbert_demo import int8, variants

    module, example, dynamic = variants._exportable(loaded)
    if rung == "bf16-compiled":
        graph = module.to(torch.bfloat16)
    else:
        graph = int8.static_program(module, example, dynamic, variants.calibration_inputs(loaded)).module()
    inductor.freezing = True
    compiled = torch.compile(graph, dynamic=True)

    def forward(inputs):
        with torch.no_grad():
            return compiled(**inputs).float()

    forward(example)  # compiles now
    return forward


def one_start(task: str, cache: Path, seq_len: int, compare: bool) -> None:
    """In a fresh process: build each compiled rung of both models once; print the times as JSON."""
    import time

    from distilbert_demo import measure, variants
    from distilbert_demo.loading import load_model
    from distilbert_demo.sized_inputs import batch_inputs, ids_of_length

    measure.configure_threads(None)
    result = {"build": {}, "note": {}, "ms": {}}
    for side in ("bert", "distilbert"):
        loaded = load_model(task, side)
        inputs = batch_inputs(loaded, ids_of_length(loaded.tokenizer, seq_len, False), 1)
        for rung in RUNGS:
            key = f"{side} {rung}"
            variant = variants.build(loaded, rung, cache)
            result["build"][key] = variant.build_s
            result["note"][key] = "loaded from disk" if variant.kept else "compiled"
            if compare:
                started = time.perf_counter()
                old = torch_compiled(loaded, rung)
                result["build"][f"{key} (torch.compile)"] = time.perf_counter() - started
                runs = {"package": variant.forward, "torch.compile": old}
                timed = measure.time_interleaved({k: lambda f=f, x=inputs: f(x) for k, f in runs.items()}, budget_s=6.0)
                result["ms"][key] = {name: stats.median_ms for name, stats in timed.items()}
    print("RESULT " + json.dumps(result))


def folder_bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--one-start", metavar="CACHE", help=argparse.SUPPRESS)
    parser.add_argument("--compare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_start:
        one_start(args.task, Path(args.one_start), args.seq_len, args.compare)
        return
    from distilbert_demo import measure

    starts = []
    with tempfile.TemporaryDirectory() as folder:
        cache, inductor = Path(folder) / "builds", Path(folder) / "inductor"
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=str(inductor))
        for start in range(1, args.starts + 1):
            command = [sys.executable, "-m", "benchmarks.compile_restart", "--task", args.task, "--seq-len"]
            command += [str(args.seq_len), "--one-start", str(cache), *(["--compare"] if start == 1 else [])]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.split("RESULT ", 1)[1])
            starts.append(result)
            built = ", ".join(f"{k} {v:.1f} s ({result['note'].get(k, '')})" for k, v in result["build"].items())
            print(f"start {start}: {built}; packages {folder_bytes(cache, '*.pt2') / 2**20:.0f} MiB", flush=True)
    print(f"\n{measure.cpu_name()}, {args.task}: build time (s) per start, a fresh process each, one cache folder")
    print("| build | " + " | ".join(f"start {i}" for i in range(1, len(starts) + 1)) + " |")
    print("|---|" + "---|" * len(starts))
    for key in starts[0]["note"]:
        print(f"| {key} | " + " | ".join(f"{s['build'][key]:.1f}" for s in starts) + " |")
    print(f"\nlatency, median ms ({args.seq_len} tokens, batch 1, interleaved), and torch.compile's build (s):")
    print("| rung | package | torch.compile | torch.compile build |")
    print("|---|---|---|---|")
    for key, ms in starts[0]["ms"].items():
        old_build = starts[0]["build"][f"{key} (torch.compile)"]
        print(f"| {key} | {ms['package']:.1f} | {ms['torch.compile']:.1f} | {old_build:.1f} |")


if __name__ == "__main__":
    main()
