"""A distillation run as the web page drives it: set up from form values, finished into a
student that can be downloaded and compared. No Gradio here."""

from __future__ import annotations

import ctypes
import gc
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from . import compare, corpus, distill, student
from .compare import Comparison
from .distill import DistillConfig, Distiller
from .inputs import InputError
from .loading import LoadedModel, Pair
from .views import esc

SAMPLE_TEXT = "The weather was cold, so she made a cup of hot [MASK] before work."
MAX_STEPS = 1000  # the page's limit; the CLI has none
STUDENT_NAME = "distilled student (this session)"


def make_distiller(
    teacher: LoadedModel,
    config: DistillConfig,
    layers_text: str | None = None,
    pasted: str | None = None,
    upload_path: str | None = None,
) -> Distiller:
    """Check every setting (InputError with a one-line message) and build the run."""
    config.check()
    if config.steps > MAX_STEPS:
        raise InputError(f"At most {MAX_STEPS} steps on this server.")
    if teacher.model.config.model_type != "bert":
        raise InputError("The teacher must be a BERT masked-LM model.")
    teacher_layers = teacher.model.config.num_hidden_layers
    layers = student.parse_layers(layers_text, teacher_layers) if layers_text and layers_text.strip() else None
    sentences = corpus.read_user_text(pasted, upload_path) or corpus.toy_corpus()
    train, heldout = corpus.split(sentences)
    return Distiller(teacher.model, teacher.tokenizer, train, heldout, config, layers)


def release_memory() -> None:
    """Hand a finished or stopped run's memory back to the system, not just to the allocator.

    glibc keeps freed heap pages for reuse; on a shared server that looks like a leak.
    """
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


@dataclass
class FinishedRun:
    student: LoadedModel  # ready to stand in as the DistilBERT side
    comparison: Comparison  # teacher vs student on SAMPLE_TEXT: size, latency, agreement
    archive: str  # zip of the saved student and tokenizer


def finish(distiller: Distiller, teacher: LoadedModel, repeats: int = 10) -> FinishedRun:
    """Save the student (zip for download) and measure it side by side with its teacher."""
    folder = Path(tempfile.mkdtemp(prefix="student-"))
    distiller.save(str(folder / "student"))
    archive = shutil.make_archive(str(folder / "distilled-student"), "zip", folder / "student")
    student_model = LoadedModel(
        task="fill-mask",
        side="distilbert",
        name=STUDENT_NAME,
        source="local",
        model=distiller.result.student.eval(),
        tokenizer=teacher.tokenizer,
    )
    comparison = compare.compare(Pair("fill-mask", teacher, student_model), SAMPLE_TEXT, repeats=repeats)
    return FinishedRun(student=student_model, comparison=comparison, archive=archive)


def progress_markdown(report: distill.StepReport) -> str:
    eta = "—" if report.eta_s == float("inf") else f"{report.eta_s:.0f} s"
    losses = ", ".join(f"{k} {v:.3f}" for k, v in report.losses.items())
    return (
        f"**Step {report.step} / {report.steps}** · {report.steps_per_s:.2f} steps/s · ETA {eta} · "
        f"elapsed {report.elapsed_s:.0f} s  \n{losses}"
    )


def summary_markdown(distiller: Distiller, finished: FinishedRun) -> str:
    result, cmp = distiller.result, finished.comparison
    teacher, pupil = cmp.bert, cmp.distilbert
    before, after = result.agreement_before, result.agreement_after
    status = "stopped early" if result.stopped else "finished"
    rows = [
        ("Layers", f"{teacher.layers}", f"{pupil.layers} (from teacher layers {result.layers})"),
        ("Parameters", f"{teacher.params:,}", f"{pupil.params:,} ({1 - cmp.param_ratio:.0%} fewer)"),
        ("Weights", f"{teacher.weights_mb:.1f} MiB", f"{pupil.weights_mb:.1f} MiB"),
        (
            "Latency median",
            f"{teacher.latency.median_ms:.1f} ms",
            f"{pupil.latency.median_ms:.1f} ms ({cmp.speedup:.2f}x)",
        ),
        ("Held-out top-1 agreement", "—", f"{before.top1:.1%} before → {after.top1:.1%} after"),
        ("Held-out KL(teacher ‖ student)", "—", f"{before.kl:.4f} → {after.kl:.4f} nats"),
    ]
    table = "| | Teacher | Student |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    caveat = ""
    if teacher.source == "twin":
        caveat = (
            "\n\n> The teacher is an untrained twin: its predictions are noise, so agreement with it means "
            "little here (L_mlm teaches the student the real words instead). The loss curves show the mechanics."
        )
    return (
        f"### Run {status}: {len(result.history)} steps in {result.elapsed_s:.0f} s\n\n{table}{caveat}\n\n"
        f"<small>Latency: {teacher.latency.runs} interleaved runs on “{esc(SAMPLE_TEXT)}”, "
        f"{cmp.threads} threads. Agreement on {after.positions} masked held-out positions.</small>"
    )
