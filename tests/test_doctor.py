"""`doctor`: the self-check on real weights, offline here (the online test runs where the hub answers)."""

import json
import os
import subprocess
import sys

import pytest
from transformers import AutoModelForMaskedLM, AutoTokenizer

from distilbert_demo import doctor, loading, markup
from distilbert_demo.ui import self_check_handler

from .test_cli import ROOT


def run_doctor(hf_home, *args):
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "distilbert_demo", "doctor", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_offline_with_an_empty_cache_skips_everything_and_says_why(tmp_path):
    proc = run_doctor(tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    skipped = [c for c in report["checks"] if c["status"] == "skip"]
    assert report["ok"] and len(skipped) == 7  # the hub, then the six default checkpoints
    assert any(
        c["name"] == "fill-mask bert (bert-base-uncased)" and "not in the local cache" in c["detail"] for c in skipped
    )
    assert "HF_HUB_OFFLINE" in skipped[0]["detail"]


def cache_posing_as(hf_home, repo_id: str, folder: str) -> None:
    """A Hugging Face cache (HF_HOME/hub) in which `folder`'s files stand under `repo_id`'s name."""
    commit = "0" * 40
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    AutoModelForMaskedLM.from_pretrained(folder).save_pretrained(snapshot)
    AutoTokenizer.from_pretrained(folder).save_pretrained(snapshot)


def test_a_wrong_model_under_a_default_name_fails_and_is_named(tiny_models, tmp_path):
    """The check can fail: a tiny random model cached as bert-base-uncased is not the published one."""
    cache_posing_as(tmp_path, "bert-base-uncased", tiny_models["fill-mask-bert"])
    proc = run_doctor(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  fill-mask bert (bert-base-uncased) published example" in proc.stdout
    assert "expected [('fashion', 0.1073)" in proc.stdout and "got      [(" in proc.stdout
    assert "PASS  fill-mask bert (bert-base-uncased) vs reference" in proc.stdout  # the app agrees with the pipeline
    assert "Traceback" not in proc.stderr


def test_every_tiny_model_matches_its_reference(tiny_store):
    models = [m for task in ("fill-mask", "sentiment", "qa") for m in tiny_store.pair(task).sides()]
    report = doctor.run(models)
    vs_reference = [c for c in report.checks if c.name.endswith("vs reference")]
    assert len(vs_reference) == 6 and all(c.status == "pass" for c in vs_reference), report.text()
    assert report.exit_code == 0


def test_a_disagreement_with_the_reference_fails(tiny_store, monkeypatch):
    from distilbert_demo import reference

    real = reference.sentiment
    monkeypatch.setattr(reference, "sentiment", lambda *a: [(label, 1 - s) for label, s in real(*a)])
    report = doctor.run([tiny_store.pair("sentiment").bert])
    (failed,) = [c for c in report.checks if c.status == "fail"]
    assert failed.name.startswith("sentiment bert") and report.exit_code == 1


def test_twins_are_skipped_and_the_panel_shows_the_report(twin_store, tiny_store):
    (check,) = doctor.model_checks(twin_store.pair("fill-mask").bert)
    assert check.status == "skip" and "untrained twin" in check.detail
    shown = self_check_handler(tiny_store)()
    assert "| ✅ |" in shown and "checks passed" in shown
    assert markup.self_check(doctor.Report([doctor.Check("x", "fail", "d", [1], [2])])).count("expected") == 1


@pytest.mark.online
def test_the_default_checkpoints_give_the_published_answers():
    """Where the hub answers (never in CI, which runs offline): the real weights, checked for real."""
    if not loading.hub_reachable():
        pytest.skip("the Hugging Face hub is unreachable (or HF_HUB_OFFLINE is set): nothing real to check")
    report = doctor.run()
    assert report.exit_code == 0, report.text()
    assert sum(c.name.endswith("published example") and c.status == "pass" for c in report.checks) == 3


def test_what_torchao_logged_while_loading_is_kept_for_doctor_not_printed():
    from importlib.metadata import version

    from distilbert_demo import int8

    check = doctor.int8_libraries()
    assert check.status == "info" and f"torchao {version('torchao')}" in check.detail
    assert all(message in check.detail for message in int8.LOAD_MESSAGES)
