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
    assert not any("screenshots" in name for name in names)  # the README's pictures stay in the repository
    # every feature folder is in the wheel (pyproject.toml lists the packages by name)
    for package in sorted(p.parent for p in (ROOT / "distilbert_demo").glob("*/__init__.py")):
        assert f"distilbert_demo/{package.name}/__init__.py" in names, package.name
    shipped = {p.relative_to(ROOT / "assets").as_posix() for p in (ROOT / "assets").rglob("*") if p.is_file()}
    carried = {n.removeprefix("distilbert_demo/assets/") for n in names if n.startswith("distilbert_demo/assets/")}
    assert carried == {name for name in shipped if not name.startswith("screenshots/")}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "distilbert-demo = distilbert_demo.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_card_layout_keeps_each_asset_in_one_place():
    """The design card's top level: app.py, requirements.txt, distilbert_demo/, assets/, web/, tests/,
    README.md (plus build and CI files, and docs/talk.md, the talk track); the package keeps no copy
    of the assets, and docs/ holds prose only."""
    for name in ("app.py", "requirements.txt", "distilbert_demo", "assets", "web", "tests", "README.md"):
        assert (ROOT / name).exists(), name
    assert not (ROOT / "distilbert_demo" / "assets").exists()
    assert {p.name for p in (ROOT / "docs").iterdir()} == {"talk.md"}
    from distilbert_demo import resources

    assert Path(str(resources.ASSETS)) == ROOT / "assets"  # a checkout reads the top-level folder


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
        [
            sys.executable,
            str(script),
            "compare",
            "--task",
            "fill-mask",
            "--text",
            "Paris is the [MASK] of France.",
            "--json",
            "--repeats",
            "1",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["models"]["bert"]["source"] == "twin" and data["models"]["bert"]["params"] == 109_514_298
    where = subprocess.run(
        [sys.executable, "-c", "import distilbert_demo, sys; print(distilbert_demo.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target))  # the installed copy, not the checkout


def test_the_package_declares_everything_it_imports():
    """pyproject.toml's dependencies name every distribution the package imports (so that `pip install .`
    gives a working Ladder and Explain tab), and requirements.txt, what a Space installs, names them too
    but for the platform's own (gradio, huggingface_hub, spaces)."""
    import ast
    import importlib.metadata
    import re
    import tomllib

    imported = set()
    for path in (ROOT / "distilbert_demo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    # optional: spaces (only on ZeroGPU, where the platform installs it)
    third_party = imported - set(sys.stdlib_module_names) - {"distilbert_demo", "spaces"}
    providers = importlib.metadata.packages_distributions()

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    needed = {norm(providers[name][0]) for name in third_party}
    declared = {
        norm(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0])
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    assert needed <= declared, needed - declared
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    required = {norm(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]) for line in lines if line}
    assert needed - {"gradio", "huggingface-hub"} <= required, needed - required
