"""The package's architecture, checked: one folder per feature, dependencies running one way.

tab -> figures / views / core -> shared base; nothing imports a tab but the page shell; cores do
not draw or lay out; figures and tabs do not run models themselves.

Features are peers: no feature imports another, except the compositions declared in COMPOSITIONS
(each said in the composing module's docstring), and those go layer to layer: a core uses the
other feature's core, figures its figures, views its views. A tab imports its own feature and the
shared base, nothing else. What two features share lives in the base.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "distilbert_demo"
FEATURES = ("compare", "attention", "distill", "bench", "evaluate", "ladder", "explain")
MODEL_LIBRARIES = {"torch", "transformers", "accelerate"}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of what `path` imports (relative imports resolved inside the package)."""
    parts = ["distilbert_demo", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[:-1] if path.name != "__init__.py" else parts
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def top_levels(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def modules(kind: str) -> list[Path]:
    return [PACKAGE / feature / f"{kind}.py" for feature in FEATURES if (PACKAGE / feature / f"{kind}.py").exists()]


def test_every_feature_has_a_core_and_a_tab():
    for feature in FEATURES:
        assert (PACKAGE / feature / "core.py").is_file() and (PACKAGE / feature / "tab.py").is_file(), feature


CORES = [p for kind in ("core", "session", "recipe", "student", "corpus") for p in modules(kind)]


@pytest.mark.parametrize("path", CORES, ids=str)
def test_cores_do_not_draw_or_lay_out(path):
    assert not top_levels(imported_modules(path)) & {"gradio", "plotly"}, path


@pytest.mark.parametrize("path", modules("figures") + modules("views"), ids=str)
def test_figures_and_views_run_no_model_and_lay_nothing_out(path):
    assert not top_levels(imported_modules(path)) & (MODEL_LIBRARIES | {"gradio"}), path


@pytest.mark.parametrize("path", modules("tab"), ids=str)
def test_tabs_only_lay_out_and_wire(path):
    assert not top_levels(imported_modules(path)) & MODEL_LIBRARIES, path


def test_nothing_imports_a_tab_but_the_page_shell():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "ui.py" and path.parent == PACKAGE:
            continue
        tabs = {name for name in imported_modules(path) if name.endswith(".tab") or ".tab." in name}
        own = {f"distilbert_demo.{path.parent.name}.tab"} if path.name == "tab.py" else set()
        assert tabs <= own, (path, tabs)


# (feature, the feature it composes): the modules that may import it, each importing its namesake
COMPOSITIONS = {
    ("distill", "compare"): {"core"},  # the finished student measured next to its teacher
    ("evaluate", "explain"): {"core", "figures", "views"},  # the disagreement reel's saliency
    ("evaluate", "attention"): {"core"},  # the reel's aligned attention
}


def feature_imports(path: Path) -> set[tuple[str, str]]:
    """(feature, module) pairs of other features' modules that `path` imports (`from ..explain import
    core` names both the package and its module: the module is what is used)."""
    own = path.parent.name
    found = set()
    for name in imported_modules(path):
        parts = name.split(".")
        if len(parts) >= 3 and parts[0] == "distilbert_demo" and parts[1] in FEATURES and parts[1] != own:
            found.add((parts[1], parts[2]))
    return found


@pytest.mark.parametrize("path", [p for f in FEATURES for p in sorted((PACKAGE / f).glob("*.py"))], ids=str)
def test_features_are_peers_but_for_declared_compositions_layer_to_layer(path):
    for feature, module in feature_imports(path):
        allowed = COMPOSITIONS.get((path.parent.name, feature), set())
        assert path.stem in allowed, f"{path.relative_to(PACKAGE)} imports the {feature} feature ({module})"
        # layer to layer: core to core, figures to figures, views to views (a type from a core is fine)
        assert module in {path.stem, "core"}, f"{path.relative_to(PACKAGE)} imports {feature}.{module}"
        assert path.stem != "core" or module == "core", path


def test_the_shared_base_imports_no_feature():
    for path in PACKAGE.glob("*.py"):
        if path.name in {"ui.py", "cli.py", "__main__.py"}:
            continue
        features = {name.split(".")[1] for name in imported_modules(path) if name.startswith("distilbert_demo.")}
        assert not features & set(FEATURES), (path, features & set(FEATURES))
