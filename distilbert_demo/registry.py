"""The registry of model pairs: which checkpoints each task compares, and how the operator
overrides them.

Visitors of the web app only ever choose a *task*; the checkpoints behind it come from this
registry, from environment variables or from CLI flags set by the operator. That is what keeps
a public server from downloading arbitrary repositories on a visitor's request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .inputs import InputError

SIDES = ("bert", "distilbert")


@dataclass(frozen=True)
class TaskSpec:
    name: str  # the CLI / UI name, e.g. "fill-mask"
    title: str  # shown in the page
    auto_class: str  # the transformers Auto class that loads it
    defaults: dict[str, str]  # side -> default hub id
    # Per-checkpoint label names -> normalised label ("negative" / "positive").
    label_maps: dict[str, dict[str, str]] = field(default_factory=dict)


FILL_MASK = TaskSpec(
    name="fill-mask",
    title="Fill-mask",
    auto_class="AutoModelForMaskedLM",
    defaults={"bert": "bert-base-uncased", "distilbert": "distilbert-base-uncased"},
)

SENTIMENT = TaskSpec(
    name="sentiment",
    title="Sentiment",
    auto_class="AutoModelForSequenceClassification",
    defaults={
        "bert": "textattack/bert-base-uncased-SST-2",
        "distilbert": "distilbert-base-uncased-finetuned-sst-2-english",
    },
    # textattack's checkpoint keeps the generic names; SST-2 uses 0 = negative, 1 = positive.
    label_maps={"textattack/bert-base-uncased-SST-2": {"LABEL_0": "negative", "LABEL_1": "positive"}},
)

QA = TaskSpec(
    name="qa",
    title="Question answering",
    auto_class="AutoModelForQuestionAnswering",
    defaults={"bert": "csarron/bert-base-uncased-squad-v1", "distilbert": "distilbert-base-cased-distilled-squad"},
)

TASKS: dict[str, TaskSpec] = {t.name: t for t in (FILL_MASK, SENTIMENT, QA)}

# Spellings seen in fine-tuned sentiment checkpoints. Generic LABEL_0/LABEL_1 follow the
# GLUE SST-2 convention (0 = negative, 1 = positive), which binary sentiment checkpoints share.
_COMMON_LABELS = {
    "negative": "negative",
    "neg": "negative",
    "label_0": "negative",
    "positive": "positive",
    "pos": "positive",
    "label_1": "positive",
}


def check_task(task: object) -> str:
    """A task name a visitor or an API caller sent, refused with a one-line message if unknown."""
    if task not in TASKS:
        raise InputError(f"Unknown task; choose one of: {', '.join(TASKS)}.")
    return task


def env_var(task: str, side: str) -> str:
    """Environment variable that overrides one side of a task, e.g. DISTILBERT_DEMO_FILL_MASK_BERT."""
    return f"DISTILBERT_DEMO_{task.upper().replace('-', '_')}_{side.upper()}"


def resolve_source(task: str, side: str, override: str | None = None) -> str:
    """The hub id or local folder to load: CLI flag, then environment variable, then default."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}; choose one of {', '.join(SIDES)}")
    return override or os.environ.get(env_var(task, side)) or TASKS[task].defaults[side]


def normalise_label(checkpoint: str, raw_label: str) -> str:
    """Map a checkpoint's label name to the shared vocabulary (negative / positive)."""
    for spec in TASKS.values():
        mapped = spec.label_maps.get(checkpoint, {}).get(raw_label)
        if mapped:
            return mapped
    return _COMMON_LABELS.get(raw_label.lower(), raw_label.lower())
