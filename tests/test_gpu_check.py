"""The GPU check (benchmarks/gpu_check.py) is for a CUDA machine; here it runs its calls on the CPU
on tiny checkpoints, so that it cannot rot before a GPU is lent: every check passes but the ones
that need a GPU, and those fail (saying so is the check's job)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from .test_cli import ROOT


def test_the_gpu_check_runs_every_handler_and_fails_only_for_want_of_a_gpu(tiny_models, tmp_path):
    report = tmp_path / "gpu-check.json"
    folder = Path(tiny_models["fill-mask-bert"]).parent
    command = [
        sys.executable,
        "-m",
        "benchmarks.gpu_check",
        "--allow-cpu",
        "--tiny",
        str(folder),
        "--seconds",
        "2",
        "--json",
        str(report),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DISTILBERT_DEMO_DATA_DIR": str(tmp_path / "app-data")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    checks = json.loads(report.read_text())["checks"]
    failed = [name for name, ok, _ in checks if not ok]
    assert failed and all("GPU" in name or "CUDA" in name for name in failed), failed
    names = " ".join(name for name, _, _ in checks)
    for handler in (
        "compare qa 512",
        "distill",
        "student answers in Compare",
        "attention with the student",
        "race",
        "evaluate",
        "reel",
        "explain",
        "benchmark",
        "self-check",
        "ladder",
    ):
        assert handler in names, handler
    assert "BERT vs DistilBERT on CPU" in done.stdout and "compare sentiment" in done.stdout


def test_without_a_gpu_it_says_so_and_exits_2():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu_check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "no CUDA device" in done.stderr
