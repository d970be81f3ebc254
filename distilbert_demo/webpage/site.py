"""site.json: what the static page runs, written from the app's own facts (one source for both).

The page (web/app.js) reads it at start: the model behind each task and side (a hub repository in
transformers.js' layout, or a folder under models/ when served locally), the shipped examples, the
app's input limits, and the files it loads from the lock file's packages (web/vendor.json).
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import inputs, qa, registry, resources
from ..loading import LoadedModel
from .export import folder_name

WEB = Path(__file__).resolve().parent.parent.parent / "web"  # the page, in a checkout
VENDOR = WEB / "vendor.json"
LOCK = WEB / "package-lock.json"

# Public hub repositories that hold the default checkpoints in transformers.js' layout (onnx/model.onnx
# and onnx/model_quantized.onnx), from Hugging Face's Xenova conversions. The two BERT fine-tunes have
# no public copy: their owner exports them with `distilbert-demo export-web` and names their own
# repositories (README, "The static page").
HUB_COPIES: dict[tuple[str, str], str | None] = {
    ("fill-mask", "bert"): "Xenova/bert-base-uncased",
    ("fill-mask", "distilbert"): "Xenova/distilbert-base-uncased",
    ("sentiment", "bert"): None,
    ("sentiment", "distilbert"): "Xenova/distilbert-base-uncased-finetuned-sst-2-english",
    ("qa", "bert"): None,
    ("qa", "distilbert"): "Xenova/distilbert-base-cased-distilled-squad",
}
TWIN_CAVEAT = "untrained twins (random weights): the predictions mean nothing"


def vendor() -> dict:
    return json.loads(VENDOR.read_text("utf-8"))


def transformers_js_version() -> str:
    """The exact transformers.js version the lock file pins."""
    lock = json.loads(LOCK.read_text("utf-8"))
    return lock["packages"]["node_modules/@huggingface/transformers"]["version"]


def limits() -> dict:
    return {
        "max_chars": inputs.MAX_CHARS,
        "max_masks": inputs.MAX_MASKS,
        "max_tokens": inputs.MAX_TOKENS,
        "max_qa_tokens": qa.MAX_QA_TOKENS,
        "max_answer_tokens": qa.MAX_ANSWER_TOKENS,
        "max_question_chars": qa.MAX_QUESTION_CHARS,
    }


def model_entry(model_id: str, name: str, source: str) -> dict:
    entry = {"id": model_id, "name": name, "source": source}
    if source == "twin":
        entry["caveat"] = TWIN_CAVEAT
    return entry


def local_models(loaded: dict[tuple[str, str], LoadedModel]) -> dict:
    """The models/ folders `distilbert-demo web` exported, per task and side."""
    models: dict = {task: {} for task in registry.TASKS}
    for (task, side), model in loaded.items():
        models[task][side] = model_entry(folder_name(task, side), model.name, model.source)
    return models


def hub_models(repos: dict[tuple[str, str], str | None]) -> dict:
    """Hub repositories (transformers.js' layout) per task and side; a side with none is left out,
    and the page says what to do about it."""
    models: dict = {task: {} for task in registry.TASKS}
    for (task, side), repo in repos.items():
        if repo:
            models[task][side] = model_entry(repo, repo, "hub")
    return models


def site_config(models: dict, local: bool) -> dict:
    files = vendor()
    return {
        "local": local,
        "models": models,
        "tasks": {name: spec.title for name, spec in registry.TASKS.items()},
        "examples": resources.examples(),
        "limits": limits(),
        "ort_files": files["ort"],
        "transformers_js": transformers_js_version(),
    }
