"""What a Space reads: the README's front matter and requirements.txt, as the hosting docs want them."""

import re
from pathlib import Path

import yaml

from distilbert_demo import registry

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_MANAGED = {"gradio", "spaces", "huggingface_hub", "huggingface-hub"}


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text("utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def requirement_names(path: Path) -> dict[str, str]:
    """name -> the version part of each requirement line (comments and includes left out)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower()
            found[name] = line[len(name) :]
    return found


def test_requirements_leave_the_platform_its_own_packages():
    names = requirement_names(ROOT / "requirements.txt")
    assert not PLATFORM_MANAGED & set(names)
    # ZeroGPU picks its torch among 2.8.0, 2.9.1, 2.10.0 and 2.11.0: the range admits those and no newer
    assert "==" not in names["torch"] and names["torch"] == ">=2.8,<2.12"
    for name in ("transformers", "accelerate", "plotly", "pandas"):
        assert name in names and "==" not in names[name]


def test_constraints_fix_every_version_the_tests_run_on():
    pins = requirement_names(ROOT / "constraints.txt")
    for name in ("torch", "transformers", "gradio", "huggingface_hub", "spaces", "pytest"):
        assert pins[name].startswith("=="), name
    assert front_matter()["sdk_version"] == pins["gradio"].removeprefix("==")


def test_front_matter_for_zero_gpu_and_a_lean_cpu_space():
    meta = front_matter()
    assert len(meta["short_description"]) <= 60
    assert meta["python_version"] in {"3.10", "3.12"}  # what ZeroGPU runs (and transformers 5 needs 3.11+)
    defaults = {spec.defaults[side] for spec in registry.TASKS.values() for side in registry.SIDES}
    assert set(meta["models"]) == defaults and meta["tags"]
    preloaded = dict(entry.split(" ", 1) for entry in meta["preload_from_hub"])
    assert set(preloaded) == defaults  # the registry's own names: the cache the app reads
    for repo, files in preloaded.items():
        names = files.split(",")
        weights = [n for n in names if n.endswith((".safetensors", ".bin"))]
        assert "config.json" in names and "tokenizer_config.json" in names and len(weights) == 1, repo


def test_the_readme_pictures_exist_and_the_hub_takes_them():
    """Every picture the README shows is in assets/screenshots (made by `make screenshots`), and each
    stays under 1 MB: the hub refuses a binary file past that size unless it is stored with Xet/LFS."""
    readme = (ROOT / "README.md").read_text("utf-8")
    shown = re.findall(r"\]\((assets/screenshots/[^)]+)\)", readme)
    assert {Path(p).suffix for p in shown} == {".png", ".gif"}
    for picture in shown:
        path = ROOT / picture
        assert path.is_file(), picture
        assert path.stat().st_size < 1_000_000, (picture, path.stat().st_size)
