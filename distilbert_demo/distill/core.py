"""A distillation run as the page and the CLI drive it: set up from settings (one way for both),
finished into a student that can be downloaded and compared. No Gradio here.

It composes another feature on purpose, core to core: the finished student is measured next to
its teacher with compare's core, so the run's summary shows the same figures Compare would.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .. import inputs, measure, predict, storage, students
from ..compare.core import Comparison, compare_pair
from ..layer_map import parse_layers
from ..loading import LoadedModel, Pair
from . import corpus
from .recipe import INITS, MAX_PAGE_STEPS, DistillConfig, Distiller, DistillResult, StepReport, run_lanes

SAMPLE_TEXT = "The weather was cold, so she made a cup of hot [MASK] before work."


def check_settings(
    config: DistillConfig, teacher_layers: int, layers_text: str | None = None, max_steps: int | None = MAX_PAGE_STEPS
) -> None:
    """The settings' own checks, the page's step limit and the layer list, before anything is built."""
    config.check()
    if max_steps is not None and config.steps > max_steps:
        raise inputs.InputError(f"At most {max_steps} steps on this server.", field="steps")
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
    **timing,
) -> Distiller:
    """Check every setting (InputError with a one-line message) and build the run.

    The text: a corpus file of any size (streamed; the CLI), else a visitor's pasted text or
    upload (the page, 2 MiB at most), else the shipped toy corpus. `max_steps` None: no limit.
    `timing`: Distiller's `started`, `reserve_s` and `heldout_set`.
    """
    timing.setdefault("started", time.perf_counter())  # a budget counts from here at the latest
    check_settings(config, teacher.model.config.num_hidden_layers, layers_text, max_steps)
    model_type = teacher.model.config.model_type
    if model_type != "bert":
        raise inputs.InputError(f"The teacher must be a BERT masked-LM model, not {model_type}.")
    teacher_layers = teacher.model.config.num_hidden_layers
    layers = parse_layers(layers_text, teacher_layers) if layers_text and layers_text.strip() else None
    if corpus_file:
        train, heldout, skip = corpus.load_corpus_file(corpus_file, config.eval_sentences)
    else:
        sentences = corpus.read_user_text(pasted, upload_path) or corpus.toy_corpus()
        (train, heldout), skip = corpus.split(sentences), 0
    return Distiller(teacher.model, teacher.tokenizer, train, heldout, config, layers, train_skip_lines=skip, **timing)


def release_memory() -> None:
    """Hand a finished or stopped run's memory back to the system, not just to the allocator.

    glibc keeps freed heap pages for reuse; on a shared server that looks like a leak.
    """
    storage.release_memory()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


COMPARE_BUDGET_S = 1.0  # seconds of interleaved timing in the final comparison (it times 5 rounds at least)
# Saving the student and writing its zip, per byte of weights: 2.1 s for a bert-base student's 256 MiB on
# this project's 2-core AMD EPYC while other jobs loaded it (safetensors, then a stored zip).
SAVE_BYTES_PER_S = 256 * 2**20
# What the estimate does not time: the profiler's start for the memory peak, the verdict's figures (on tiny
# models on the loaded 2-core machine finish() took up to 0.5 s more than the rest of the estimate).
UNTIMED_FINISH_S = 0.5


# How long the last finish() with a teacher of each size took in this process: a loaded machine's
# measurement is slower than the estimate, and the next run's reserve is at least that.
_last_finish_s: dict[int, float] = {}  # teacher's parameter count -> seconds


@dataclass
class FinishedRun:
    student: LoadedModel  # ready to stand in as the DistilBERT side
    comparison: Comparison  # teacher vs student on SAMPLE_TEXT: size, latency, agreement
    archive: str  # zip of the saved student and tokenizer


def student_model(distiller: Distiller, teacher: LoadedModel) -> LoadedModel:
    """The run's student, as the DistilBERT side of a pair."""
    return LoadedModel(
        task="fill-mask",
        side="distilbert",
        name=students.STUDENT_NAME,
        source="local",
        model=distiller.result.student,
        tokenizer=teacher.tokenizer,
    )


@torch.inference_mode()
def reserve_finish(distiller: Distiller, teacher: LoadedModel) -> float:
    """Keep room at the end of a budgeted run for finish(): one round of both models on SAMPLE_TEXT is
    timed now (after one to warm up), on this machine as loaded as it is, and finish() makes about eleven (warm-up,
    predictions, memory, at least five timed) besides COMPARE_BUDGET_S of timing and the save; at least what
    the last finish() with a teacher of this size took here. Returns the reserve."""
    if not distiller.plan.budget_s:
        return 0.0
    pair = Pair("fill-mask", teacher, student_model(distiller, teacher))
    was_training = distiller.result.student.training
    distiller.result.student.eval()
    forwards = [
        predict.production_forward(side, inputs.prepare(SAMPLE_TEXT, "fill-mask", side.tokenizer, side.device))
        for side in pair.sides()
    ]
    with measure.MACHINE:
        for forward in forwards:  # the first call of each warms up (on tiny models 10 times the next)
            forward()
        began = time.perf_counter()
        for forward in forwards:
            forward()
        round_s = time.perf_counter() - began
    distiller.result.student.train(was_training)
    saving = 2 * pair.distilbert.weights_bytes / SAVE_BYTES_PER_S  # the safetensors file, then its zip
    # two warm-up rounds, the predictions, two profiled forwards (the memory peak: slower than plain ones)
    estimate = saving + max(COMPARE_BUDGET_S, 5 * round_s) + 6 * round_s + UNTIMED_FINISH_S
    distiller.plan.reserve_s = max(estimate, _last_finish_s.get(teacher.params, 0.0))
    return distiller.plan.reserve_s


def archive_folder(folder: Path, zip_path: Path) -> str:
    """A zip of `folder`, stored rather than deflated: float weights hardly compress, and deflating a
    bert-base student's 256 MiB took 21 s on this project's loaded 2-core machine."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return str(zip_path)


def finish(distiller: Distiller, teacher: LoadedModel, folder: Path, repeats: int | None = None) -> FinishedRun:
    """Save the student into `folder` (students.py reads it back in any process) with a zip of it
    for download, and measure it side by side with its teacher (for COMPARE_BUDGET_S, or `repeats` runs)."""
    began = time.perf_counter()
    saved = students.model_folder(folder)
    distiller.save(str(saved))
    archive = archive_folder(saved, Path(folder) / "distilled-student.zip")
    distiller.result.student.eval()
    pupil = student_model(distiller, teacher)
    comparison = compare_pair(
        Pair("fill-mask", teacher, pupil), SAMPLE_TEXT, repeats=repeats, budget_s=COMPARE_BUDGET_S
    )
    students.remember(folder, pupil)  # this process uses it next without reading it back
    _last_finish_s[teacher.params] = time.perf_counter() - began
    return FinishedRun(student=pupil, comparison=comparison, archive=archive)


class Race:
    """The myth race ("DistilBERT is simply a smaller BERT trained from scratch"): a student that starts
    from the teacher's layers and one of the same shape from random weights step in turns (a step of
    one, then a step of the other on the same batch), with one seed and one plan, so both curves grow
    together and both students end with the same number of steps. The time budget, counted from
    `started` (the click), covers building both, every evaluation and the last one."""

    def __init__(self, teacher: LoadedModel, config: DistillConfig, *args, started: float | None = None, **kwargs):
        """The other arguments are make_distiller's."""
        self.started = time.perf_counter() if started is None else started
        self.twin = teacher.source == "twin"
        self.lanes: dict[str, Distiller] = {}
        for init in INITS:  # the second lane reuses the teacher's held-out answers
            shared = {"heldout_set": self.lanes["teacher"].heldout} if self.lanes else {}
            self.lanes[init] = make_distiller(
                teacher, replace(config, init=init), *args, started=self.started, **shared, **kwargs
            )

    def run(self, stop=None) -> Iterator[StepReport]:
        return run_lanes(list(self.lanes.values()), stop)

    @property
    def results(self) -> dict[str, DistillResult]:
        return {init: lane.result for init, lane in self.lanes.items()}


def race(teacher: LoadedModel, config: DistillConfig, *args, stop=None, **kwargs) -> Iterator[tuple[StepReport, Race]]:
    """Build the race and run it: (report, race) after every step of both students."""
    contest = Race(teacher, config, *args, **kwargs)
    for report in contest.run(stop):
        yield report, contest


LANE_NAMES = {"teacher": "teacher-initialised", "random": "random init"}
TWIN_CAVEAT = "untrained twin teacher: agreement with it means little"


def race_summary(results: dict[str, DistillResult], twin: bool = False) -> str:
    """The verdict in one line, at equal steps: the last step at which both students were evaluated
    (a race ends with both evaluated at its last step). Top-1 held-out agreement says which is closer
    to the teacher; when it cannot tell them apart (as many matching positions), the KL says it."""
    (a_init, a), (b_init, b) = results.items()
    step = max({e["step"] for e in a.evaluations} & {e["step"] for e in b.evaluations})
    ea, eb = (next(e for e in r.evaluations if e["step"] == step) for r in (a, b))
    name_a, name_b = LANE_NAMES[a_init], LANE_NAMES[b_init]
    head = f"After {step} steps each, same batches"
    if round(ea["top1"] * ea["positions"]) != round(eb["top1"] * eb["positions"]):
        line = f"{head}: top-1 held-out agreement {ea['top1']:.1%} ({name_a}) vs {eb['top1']:.1%} ({name_b})"
    else:
        closer = name_a if ea["kl"] < eb["kl"] else name_b
        line = (
            f"{head}: top-1 held-out agreement ties at {ea['top1']:.1%}; KL to the teacher {ea['kl']:.2f} "
            f"({name_a}) vs {eb['kl']:.2f} nats ({name_b}): {closer} is closer"
        )
    return line + (f" · {TWIN_CAVEAT}" if twin else "") + "."
