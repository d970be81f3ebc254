"""The CLI, run as a user runs it: a subprocess, offline, on tiny checkpoints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "distilbert_demo", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def pair_flags(tiny_models, task):
    return ["--bert", tiny_models[f"{task}-bert"], "--distilbert", tiny_models[f"{task}-distilbert"]]


def test_compare_json_fill_mask(tiny_models):
    proc = run_cli(
        "compare",
        "--task",
        "fill-mask",
        "--text",
        "The [MASK] is [MASK].",
        "--top-k",
        "3",
        "--repeats",
        "4",
        "--json",
        *pair_flags(tiny_models, "fill-mask"),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # exactly one JSON object on stdout
    assert data["task"] == "fill-mask" and data["text"] == "The [MASK] is [MASK]."
    for side in ("bert", "distilbert"):
        model = data["models"][side]
        assert set(model) >= {"name", "source", "params", "weights_mb", "latency_ms", "peak_memory_mb", "predictions"}
        assert model["source"] == "local"
        assert set(model["latency_ms"]) >= {"median", "p90", "runs"} and model["latency_ms"]["runs"] == 4
        assert [len(mask) for mask in model["predictions"]] == [3, 3]
        assert set(model["predictions"][0][0]) == {"token", "score"}
    assert set(data["agreement"]) >= {"top1_match", "topk_overlap", "js_divergence"}
    assert data["speedup"] > 0


def test_compare_json_sentiment(tiny_models):
    proc = run_cli(
        "compare",
        "--task",
        "sentiment",
        "--text",
        "Great food.",
        "--repeats",
        "2",
        "--json",
        *pair_flags(tiny_models, "sentiment"),
    )
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(proc.stdout)["models"]["bert"]["predictions"]
    assert {p["label"] for p in preds} == {"negative", "positive"}


def test_compare_table(tiny_models):
    proc = run_cli(
        "compare",
        "--task",
        "fill-mask",
        "--text",
        "The [MASK] barked.",
        "--repeats",
        "2",
        *pair_flags(tiny_models, "fill-mask"),
    )
    assert proc.returncode == 0, proc.stderr
    for expected in ("BERT", "DistilBERT", "latency median", "parameters", "verdict: DistilBERT:", "threads"):
        assert expected in proc.stdout


@pytest.mark.parametrize(
    ("task", "text", "message"),
    [
        ("fill-mask", "", "Please enter some text."),
        ("sentiment", "   ", "Please enter some text."),
        ("fill-mask", "no mask at all", "needs at least one [MASK]"),
        ("fill-mask", "[MASK] " * 9, "at most 5 are supported"),
        ("sentiment", "x" * 10_001, "the limit is 10,000"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(tiny_models, task, text, message):
    proc = run_cli("compare", "--task", task, "--text", text, *pair_flags(tiny_models, task))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_truncation_is_reported(tiny_models):
    text = "the [MASK] " + "dog " * 600 + "[MASK]"
    proc = run_cli(
        "compare",
        "--task",
        "fill-mask",
        "--text",
        text,
        "--repeats",
        "1",
        "--json",
        *pair_flags(tiny_models, "fill-mask"),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["models"]["bert"]["predictions"]) == 1
    assert any("fell after the 512-token limit" in n for n in data["notices"])
    assert "fell after the 512-token limit" in proc.stderr


def test_missing_folder_is_a_load_error(tiny_models):
    proc = run_cli(
        "compare",
        "--task",
        "fill-mask",
        "--text",
        "a [MASK]",
        "--bert",
        "/nonexistent/model",
        "--distilbert",
        tiny_models["fill-mask-distilbert"],
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: could not load /nonexistent/model")
    assert "Traceback" not in proc.stderr


def test_folder_without_a_model_is_a_load_error(tmp_path, tiny_models):
    proc = run_cli(
        "compare",
        "--task",
        "sentiment",
        "--text",
        "fine",
        "--bert",
        str(tmp_path),
        "--distilbert",
        tiny_models["sentiment-distilbert"],
    )
    assert proc.returncode == 1
    assert "error: could not load" in proc.stderr and "Traceback" not in proc.stderr


def test_prefetch_offline_is_refused_clearly():
    proc = run_cli("prefetch")
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        == "error: prefetch needs the Hugging Face hub, but HF_HUB_OFFLINE is set; unset it and retry."
    )


def test_bad_flags_exit_2():
    proc = run_cli("compare", "--task", "translation", "--text", "x")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_compare_question_answering(tiny_models):
    context = "The report on city traffic was written by Maria Lopez and published in March."
    proc = run_cli(
        "compare",
        "--task",
        "qa",
        "--question",
        "Who wrote the report?",
        "--context",
        context,
        "--top-k",
        "2",
        "--repeats",
        "2",
        "--json",
        *pair_flags(tiny_models, "qa"),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["question"] == "Who wrote the report?" and data["text"] == context
    for side in ("bert", "distilbert"):
        answers = data["models"][side]["predictions"]
        assert len(answers) == 2 and answers[0]["score"] >= answers[1]["score"]
        assert all(context[a["start"] : a["end"]] == a["text"] for a in answers)
    proc = run_cli("compare", "--task", "qa", "--question", " ", "--context", context, *pair_flags(tiny_models, "qa"))
    assert proc.returncode == 2 and proc.stderr.strip() == "error: Please enter a question."
