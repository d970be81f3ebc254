"""The GPU check: every handler of the app on a CUDA device, as visitors call them, in a few minutes.

    python -m benchmarks.gpu_check [--json FILE]      (make gpu-check)

For the day a CUDA machine is at hand (the tests never need one). It loads the default pairs (the
architecture twins where the hub cannot be reached), then calls each tab's handler the way the page
does: Compare on every task at 16, 128 and 512 tokens, Attention, Explain, a 20-second
distillation whose student then answers in Compare and Attention, the myth race, Evaluate and its
reel, the Benchmark at 16/128/512 tokens x batch 1/8/32, the self-check, and the Ladder (which
stays on the CPU). Each check says PASS or FAIL: figures name "GPU (...)", memory comes from
CUDA's allocator, the ladder's rows name the CPU. Then a table of BERT vs DistilBERT latency on
that GPU. Exit 0 when every check passed, 1 when one failed, 2 without a CUDA device.

`--allow-cpu` runs the same calls on the CPU (the checks that need a GPU then fail), with
`--tiny FOLDER` naming tiny checkpoints ({task}-{side} folders): the suite runs it that way so
that this script cannot rot before a GPU is lent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import gradio as gr
import torch

from distilbert_demo import measure, registry, students
from distilbert_demo.attention.tab import attention_handlers
from distilbert_demo.bench.tab import bench_handlers
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.distill.tab import distill_handlers, race_handler
from distilbert_demo.evaluate.tab import evaluate_handler, reel_handler
from distilbert_demo.explain.tab import explain_handler
from distilbert_demo.ladder.tab import ladder_handler
from distilbert_demo.loading import ModelStore
from distilbert_demo.ui import self_check_handler

LENGTHS = (16, 128, 512)
BATCHES = (1, 8, 32)
TEXTS = {
    "fill-mask": "The capital of France is [MASK].",
    "sentiment": "The film was a delight from start to end.",
    "qa": "Paris is the capital and largest city of France, on the river Seine.",
}
QUESTION = "What is the capital of France?"


def text_of(task: str, tokens: int) -> str:
    """The task's sentence followed by words up to about `tokens` tokens (the models cut at 512)."""
    words = " ".join(["word"] * max(0, tokens - 16))
    return f"{TEXTS[task]} {words}".strip()


class Checks:
    def __init__(self):
        self.rows: list[tuple[str, bool, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.rows.append((name, bool(ok), detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}{'  (' + detail + ')' if detail else ''}", flush=True)

    def run(self, name: str, call):
        """Call a handler; a raised error is a failed check, and the check list goes on."""
        started = time.perf_counter()
        try:
            result = call()
        except Exception as err:  # noqa: BLE001 - every handler gets its line, whatever one raises
            self.check(name, False, f"{type(err).__name__}: {err}")
            return None
        print(f"      {name}: {time.perf_counter() - started:.1f} s", flush=True)
        return result

    @property
    def failed(self) -> int:
        return sum(not ok for _, ok, _ in self.rows)


def on_gpu(measured_on: str) -> bool:
    return str(measured_on).startswith("GPU (")


def settings(seconds: float) -> dict:
    return {
        "pasted": "",
        "upload": None,
        "layers_text": "",
        "steps": 40,
        "batch_size": 8,
        "seq_len": 64,
        "temperature": 2.0,
        "alpha_ce": 5.0,
        "alpha_mlm": 2.0,
        "alpha_cos": 1.0,
        "lr": 5e-4,
        "bf16": torch.cuda.is_available(),
        "seconds": seconds,
    }


def check_compare(checks: Checks, store: ModelStore, latency: list[dict]) -> None:
    compare = compare_handler(store)
    for task in registry.TASKS:
        for tokens in LENGTHS:
            question = QUESTION if task == "qa" else ""
            out = checks.run(
                f"compare {task} {tokens} tokens",
                lambda t=task, n=tokens, q=question: compare(t, text_of(t, n), 3, 20, q),
            )
            if out is None:
                continue
            raw = out[-1]
            bert, distil = raw["models"]["bert"], raw["models"]["distilbert"]
            where = raw["measured_on"]
            checks.check(f"compare {task} {tokens}: measured on the GPU", on_gpu(where), where)
            checks.check(f"compare {task} {tokens}: peak memory measured", bert["peak_memory_mb"] is not None)
            medians = {"bert_ms": bert["latency_ms"]["median"], "distilbert_ms": distil["latency_ms"]["median"]}
            latency.append({"what": f"compare {task}", "tokens": bert["num_tokens"], "batch": 1, **medians})


def check_distill(checks: Checks, store: ModelStore, seconds: float) -> None:
    start, _, use_student, _ = distill_handlers(store)
    updates = checks.run(
        f"distill, {seconds:g} s budget", lambda: list(start(**settings(seconds), request=None, progress=gr.Progress()))
    )
    if not updates:
        return
    status, *_, handle, _ = updates[-1]
    checks.check("distill: finished with a student", status.startswith("**Done:**") and handle, status[:120])
    checks.check("distill: measured on the GPU", "GPU (" in status or "GPU (" in str(updates[-1][3]))
    if not handle:
        return
    use_student(handle)
    out = checks.run(
        "compare with the student", lambda: compare_handler(store)("fill-mask", TEXTS["fill-mask"], 3, 20, "", handle)
    )
    if out is not None:
        raw = out[-1]
        checks.check(
            "the GPU-made student answers in Compare",
            raw["models"]["distilbert"]["name"] == students.STUDENT_NAME and on_gpu(raw["measured_on"]),
            raw["measured_on"],
        )
    out = checks.run(
        "attention with the student", lambda: attention_handlers(store)[0]("fill-mask", TEXTS["fill-mask"], "", handle)
    )
    layers = None if out is None else out[-1]["models"]["distilbert"]["layers"]  # the JSON of both maps
    checks.check("attention with the student: maps of both", bool(layers), f"{layers} student layers")


def check_heavy(checks: Checks, store: ModelStore, latency: list[dict], seconds: float) -> None:
    race = race_handler(store)
    updates = checks.run(
        f"race, {seconds:g} s budget", lambda: list(race(**settings(seconds), request=None, progress=gr.Progress()))
    )
    checks.check("race: finished", bool(updates) and updates[-1][0].startswith("**Race finished:**"))
    out = checks.run("evaluate", lambda: evaluate_handler(store)(None, request=None, progress=gr.Progress()))
    if out is not None:
        checks.check("evaluate: measured on the GPU", on_gpu(out[5]["measured_on"]), out[5]["measured_on"])
        reel = checks.run("the reel's first case", lambda: reel_handler(store)(out[6], 0))
        checks.check("the reel draws its case", reel is not None and reel[1] is not None)
    out = checks.run(
        "explain", lambda: explain_handler(store)("sentiment", TEXTS["sentiment"], "", "ig", 50, progress=gr.Progress())
    )
    attributed = set() if out is None else set(out[-1]["models"])
    checks.check("explain: both models attributed", attributed == {"bert", "distilbert"})
    bench, _ = bench_handlers(store)
    values = {
        "task": "fill-mask",
        "seq_lens": list(LENGTHS),
        "batch_sizes": list(BATCHES),
        "precision": "fp32",
        "repeats": 10,
        "baseline": False,
    }
    updates = checks.run("benchmark sweep", lambda: list(bench(request=None, progress=gr.Progress(), **values)))
    if updates:
        message, *_, result = updates[-1]
        checks.check("benchmark: measured on the GPU", on_gpu(result["measured_on"]), result["measured_on"])
        checks.check("benchmark: memory from CUDA's allocator", measure.MEMORY_METHOD["cuda"] in message)
        latency.extend(
            {
                "what": "benchmark",
                "tokens": row["seq_len"],
                "batch": row["batch_size"],
                row["model"] + "_ms": row["median_ms"],
            }
            for row in result["rows"]
            if row["model"] in ("bert", "distilbert")
        )
    out = checks.run("self-check", lambda: self_check_handler(store)())
    checks.check("self-check: a report", out is not None and "|" in out)
    out = checks.run(
        "ladder (CPU)",
        lambda: ladder_handler(store)(
            "sentiment", 128, ["fp32", "onnx-int8"], 4.0, request=None, progress=gr.Progress()
        ),
    )
    if out is not None:
        checks.check(
            "ladder: its rows stay on the CPU", out[-1]["measured_on"].startswith("CPU ("), out[-1]["measured_on"]
        )


def latency_table(latency: list[dict]) -> list[dict]:
    """One row per (what, tokens, batch): both medians side by side and the speed-up."""
    merged: dict[tuple, dict] = {}
    for row in latency:
        merged.setdefault((row["what"], row["tokens"], row["batch"]), {}).update(row)
    table = []
    for (what, tokens, batch), row in merged.items():
        if "bert_ms" in row and "distilbert_ms" in row:
            speedup = row["bert_ms"] / row["distilbert_ms"]
            table.append(
                {
                    "what": what,
                    "tokens": tokens,
                    "batch": batch,
                    "bert_ms": row["bert_ms"],
                    "distilbert_ms": row["distilbert_ms"],
                    "speedup": speedup,
                }
            )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the checks and the table to FILE")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU when there is no CUDA device")
    parser.add_argument("--tiny", metavar="FOLDER", help="checkpoints in FOLDER/{task}-{side} instead of the defaults")
    parser.add_argument("--seconds", type=float, default=20, help="the distillation's and the race's budget")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("no CUDA device: the GPU check needs one (--allow-cpu runs it on the CPU)", file=sys.stderr)
        return 2
    overrides = {}
    if args.tiny:
        overrides = {(t, s): str(Path(args.tiny) / f"{t}-{s}") for t in registry.TASKS for s in registry.SIDES}
    started = time.perf_counter()
    store = ModelStore(overrides)
    store.load(list(registry.TASKS))
    loaded = ", ".join(f"{pair.task} ({pair.bert.source})" for pair in store.loaded_pairs())
    print(
        f"{measure.device_label(store.device)}; torch {torch.__version__}; "
        f"pairs loaded in {time.perf_counter() - started:.0f} s: {loaded}",
        flush=True,
    )
    checks, latency = Checks(), []
    check_compare(checks, store, latency)
    check_distill(checks, store, args.seconds)
    check_heavy(checks, store, latency, args.seconds)
    table = latency_table(latency)
    print(f"\nBERT vs DistilBERT on {measure.device_name(store.device)} (median ms; twins: random weights, real sizes)")
    print(f"{'what':<22} {'tokens':>6} {'batch':>5} {'BERT ms':>9} {'DistilBERT ms':>13} {'speed-up':>8}")
    for row in table:
        print(
            f"{row['what']:<22} {row['tokens']:>6} {row['batch']:>5} {row['bert_ms']:>9.2f} "
            f"{row['distilbert_ms']:>13.2f} {row['speedup']:>7.2f}x"
        )
    passed = len(checks.rows) - checks.failed
    print(f"\n{passed} of {len(checks.rows)} checks passed in {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"device": measure.device_label(store.device), "table": table, "checks": checks.rows}, indent=1)
        )
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
