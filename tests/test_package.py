"""The package installs as a wheel that carries its assets, and its CLI works from any folder."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source") / "checkout"
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources.
    skip = shutil.ignore_patterns(".*", "artifacts", "__pycache__", "build", "*.egg-info")
    shutil.copytree(ROOT, source, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (built,) = out.glob("distilbert_demo-*.whl")
    return built


def test_the_wheel_carries_the_assets_and_the_console_script(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for asset in (
        "distilbert_demo/assets/examples.json",
        "distilbert_demo/assets/sentiment_eval.csv",
        "distilbert_demo/assets/corpus/toy_corpus.txt",
        "distilbert_demo/assets/twins/bert-base-uncased/config.json",
        "distilbert_demo/assets/page/page.css",
        "distilbert_demo/assets/page/page.js",
        "distilbert_demo/compare/tab.py",
    ):
        assert asset in names, asset
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "distilbert-demo = distilbert_demo.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_cli_runs_from_another_folder_on_the_twins(wheel, tmp_path):
    """No checkout on the path: the corpus, the labelled set and the twins come from the installed copy."""
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = target / "bin" / "distilbert-demo"
    assert script.is_file()
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(script), "compare", "--task", "fill-mask", "--text", "Paris is the [MASK] of France.",
         "--json", "--repeats", "1"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["models"]["bert"]["source"] == "twin" and data["models"]["bert"]["params"] == 109_514_298
    where = subprocess.run(
        [sys.executable, "-c", "import distilbert_demo, sys; print(distilbert_demo.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(target))  # the installed copy, not the checkout
