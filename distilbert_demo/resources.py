"""The files shipped inside the package (assets/), read with importlib.resources so that an
installed copy finds them from any working folder."""

from __future__ import annotations

import functools
import json
from importlib import resources
from importlib.resources.abc import Traversable

ASSETS: Traversable = resources.files(__package__) / "assets"
TWIN_CONFIGS = ASSETS / "twins"  # the default checkpoints' config.json files, one folder each
EXAMPLES = ASSETS / "examples.json"  # task -> example texts ([question, context] for qa)
TOY_CORPUS = ASSETS / "corpus" / "toy_corpus.txt"  # distillation's default corpus, the twins' vocabulary
SENTIMENT_SET = ASSETS / "sentiment_eval.csv"  # Evaluate's labelled set
PAGE = ASSETS / "page"  # the page's CSS and JavaScript (presenter mode, the view link)


def sentences_from_text(text: str) -> list[str]:
    """Non-empty lines, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@functools.cache
def _toy_corpus() -> tuple[str, ...]:
    return tuple(sentences_from_text(TOY_CORPUS.read_text("utf-8")))


def toy_corpus() -> list[str]:
    """The shipped corpus, one sentence a line (a fresh list: callers may shuffle it)."""
    return list(_toy_corpus())


@functools.cache
def examples() -> dict[str, list]:
    """Examples per task: a text, or [question, context] for question answering."""
    return json.loads(EXAMPLES.read_text("utf-8"))


def example_rows() -> list[list[str]]:
    """[task, text, question] rows, numbered from 1 in links (?example=n); for question answering
    the text is the context."""
    return [
        [task, example[1], example[0]] if isinstance(example, list) else [task, example, ""]
        for task, examples in examples().items()
        for example in examples
    ]


def page_css() -> str:
    return (PAGE / "page.css").read_text("utf-8")


def page_js() -> str:
    return (PAGE / "page.js").read_text("utf-8")
