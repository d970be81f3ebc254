"""A distillation run as the page and the CLI drive it: set up from settings (one way for both),
finished into a student that can be downloaded and compared. No Gradio here.

It composes another feature on purpose, core to core: the finished student is measured next to
its teacher with compare's core, so the run's summary shows the same figures Compare would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .. import storage, students
from ..compare.core import Comparison, compare_pair
from ..inputs import InputError
from ..layer_map import parse_layers
from ..loading import LoadedModel, Pair
from . import corpus
from .recipe import INITS, MAX_PAGE_STEPS, DistillConfig, Distiller, DistillResult, StepReport

SAMPLE_TEXT = "The weather was cold, so she made a cup of hot [MASK] before work."


def check_settings(
    config: DistillConfig, teacher_layers: int, layers_text: str | None = None, max_steps: int | None = MAX_PAGE_STEPS
) -> None:
    """The settings' own checks, the page's step limit and the layer list, before anything is built."""
    config.check()
    if max_steps is not None and config.steps > max_steps:
        raise InputError(f"At most {max_steps} steps on this server.", field="steps")
    if layers_text and layers_text.strip():
        parse_layers(layers_text, teacher_layers)


def make_distiller(
    teacher: LoadedModel,
    config: DistillConfig,
    layers_text: str | None = None,
    pasted: str | None = None,
    upload_path: str | None = None,
    *,
    corpus_file: str | None = None,
    max_steps: int | None = MAX_PAGE_STEPS,
) -> Distiller:
    """Check every setting (InputError with a one-line message) and build the run.

    The text: a corpus file of any size (streamed; the CLI), else a visitor's pasted text or
    upload (the page, 2 MiB at most), else the shipped toy corpus. `max_steps` None: no limit.
    """
    check_settings(config, teacher.model.config.num_hidden_layers, layers_text, max_steps)
    model_type = teacher.model.config.model_type
    if model_type != "bert":
        raise InputError(f"The teacher must be a BERT masked-LM model, not {model_type}.")
    teacher_layers = teacher.model.config.num_hidden_layers
    layers = parse_layers(layers_text, teacher_layers) if layers_text and layers_text.strip() else None
    if corpus_file:
        train, heldout, skip = corpus.load_corpus_file(corpus_file, config.eval_sentences)
    else:
        sentences = corpus.read_user_text(pasted, upload_path) or corpus.toy_corpus()
        (train, heldout), skip = corpus.split(sentences), 0
    return Distiller(teacher.model, teacher.tokenizer, train, heldout, config, layers, train_skip_lines=skip)


def release_memory() -> None:
    """Hand a finished or stopped run's memory back to the system, not just to the allocator.

    glibc keeps freed heap pages for reuse; on a shared server that looks like a leak.
    """
    storage.release_memory()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class FinishedRun:
    student: LoadedModel  # ready to stand in as the DistilBERT side
    comparison: Comparison  # teacher vs student on SAMPLE_TEXT: size, latency, agreement
    archive: str  # zip of the saved student and tokenizer


def finish(distiller: Distiller, teacher: LoadedModel, folder: Path, repeats: int = 10) -> FinishedRun:
    """Save the student into `folder` (students.py reads it back in any process) with a zip of it
    for download, and measure it side by side with its teacher."""
    saved = students.model_folder(folder)
    distiller.save(str(saved))
    archive = shutil.make_archive(str(Path(folder) / "distilled-student"), "zip", saved)
    student_model = LoadedModel(
        task="fill-mask",
        side="distilbert",
        name=students.STUDENT_NAME,
        source="local",
        model=distiller.result.student.eval(),
        tokenizer=teacher.tokenizer,
    )
    comparison = compare_pair(Pair("fill-mask", teacher, student_model), SAMPLE_TEXT, repeats=repeats)
    students.remember(folder, student_model)  # this process uses it next without reading it back
    return FinishedRun(student=student_model, comparison=comparison, archive=archive)


def race(
    teacher: LoadedModel, config: DistillConfig, *args, stop=None, **kwargs
) -> Iterator[tuple[str, StepReport, Distiller]]:
    """The myth race ("DistilBERT is simply a smaller BERT trained from scratch"): a student that
    starts from the teacher's layers, then one of the same shape from random weights, each with half
    the time budget (or the same step count), the same seed and the same batches. Yields (init,
    report, distiller) for every step of each; the other arguments are make_distiller's."""
    lane = replace(config, seconds=config.seconds / 2) if config.seconds else config
    for init in INITS:
        distiller = make_distiller(teacher, replace(lane, init=init), *args, **kwargs)
        for report in distiller.run(stop):
            yield init, report, distiller
        if stop is not None and stop.is_set():
            return


def race_summary(results: dict[str, DistillResult]) -> str:
    """One line for the audience, with the measured figures."""
    parts = []
    for init, result in results.items():
        after = result.agreement_after
        label = "teacher-initialised student" if init == "teacher" else "random"
        parts.append(
            f"{label}: {after.top1:.1%} held-out agreement after {result.elapsed_s:.0f} s ({len(result.history)} steps)"
        )
    return "; ".join(parts) + "."
