"""The files the app ships that are not code, read from one place.

They live in the repository's top-level assets/ (the design card's layout); a wheel carries them
inside the package as distilbert_demo/assets/ (pyproject.toml maps the one folder onto the other),
so an installed copy finds them from any working folder and a checkout finds them where they are.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .inputs import InputError


def _assets() -> Traversable:
    installed = resources.files(__package__) / "assets"  # inside an installed package
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "assets"  # a checkout


ASSETS: Traversable = _assets()
TWIN_CONFIGS = ASSETS / "twins"  # the default checkpoints' config.json files, one folder each
EXAMPLES = ASSETS / "examples.json"  # task -> example texts ([question, context] for qa)
TOY_CORPUS = ASSETS / "corpus" / "toy_corpus.txt"  # distillation's default corpus, the twins' vocabulary
SENTIMENT_SET = ASSETS / "sentiment_eval.csv"  # Evaluate's labelled set
PAGE = ASSETS / "page"  # the page's CSS and JavaScript (presenter mode, the view link)


HELDOUT_EVERY = 8  # every 8th sentence of a corpus is held out for measuring agreement
MIN_SENTENCES = 2  # one to train on, one to measure on


def sentences_from_text(text: str) -> list[str]:
    """Non-empty lines, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@functools.cache
def _toy_corpus() -> tuple[str, ...]:
    return tuple(sentences_from_text(TOY_CORPUS.read_text("utf-8")))


def toy_corpus() -> list[str]:
    """The shipped corpus, one sentence a line (a fresh list: callers may shuffle it)."""
    return list(_toy_corpus())


def split(sentences: list[str]) -> tuple[list[str], list[str]]:
    """(train, held-out): every HELDOUT_EVERY-th sentence is held out, the rest train."""
    if len(sentences) < MIN_SENTENCES:
        raise InputError("The corpus is empty: give at least two non-empty lines of text.")
    if len(sentences) < HELDOUT_EVERY:  # a tiny corpus: hold out its last line
        return sentences[:-1], sentences[-1:]
    heldout = sentences[HELDOUT_EVERY - 1 :: HELDOUT_EVERY]
    train = [s for i, s in enumerate(sentences, start=1) if i % HELDOUT_EVERY]
    return train, heldout


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
