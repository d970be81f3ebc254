"""The Distill tab's text (Markdown) from a run: pure functions, no Gradio."""

from __future__ import annotations

from ..markup import esc
from .core import LANE_NAMES, SAMPLE_TEXT, FinishedRun
from .recipe import Distiller, DistillResult, StepReport


def progress_markdown(report: StepReport) -> str:
    eta = "—" if report.eta_s == float("inf") else f"{report.eta_s:.0f} s"
    losses = ", ".join(f"{k} {v:.3f}" for k, v in report.losses.items())
    plan = report.plan
    planned = "?" if plan is not None and plan.budget_s and not plan.measured else report.steps
    head = f"**Step {report.step} / {planned}** · {report.steps_per_s:.2f} steps/s · ETA {eta} · "
    head += f"elapsed {report.elapsed_s:.0f} s"
    if plan is not None and plan.budget_s:
        head += f" · plan: {plan.text()}"
    return f"{head}  \n{losses}"


def race_progress_markdown(report: StepReport, results: dict[str, DistillResult]) -> str:
    """The race's status: one step count and one ETA for both students, and each one's latest loss."""
    eta = "—" if report.eta_s == float("inf") else f"{report.eta_s:.0f} s"
    plan = report.plan
    planned = "?" if plan is not None and plan.budget_s and not plan.measured else report.steps
    head = f"**Race: step {report.step} / {planned} each** · ETA {eta} · elapsed {report.elapsed_s:.0f} s"
    losses = " · ".join(f"{LANE_NAMES[init]} loss {r.history[-1]['loss']:.3f}" for init, r in results.items())
    return f"{head}  \n{losses}"


def done_line(distiller: Distiller, finished: FinishedRun, wall_s: float | None = None) -> str:
    """The run's verdict in one line, right above its charts (the summary table below has the rest);
    `wall_s`: from the click to this verdict (else the run's own time)."""
    result, cmp = distiller.result, finished.comparison
    before, after = result.agreement_before, result.agreement_after
    line = (
        f"**Done:** {len(result.history)} steps in {wall_s or result.elapsed_s:.0f} s · held-out agreement with the "
        f"teacher {before.top1:.1%} → {after.top1:.1%} · student {cmp.speedup:.2f}x the teacher's speed, "
        f"{1 - cmp.param_ratio:.0%} fewer parameters"
    )
    return line + (" · untrained teacher: agreement means little" if cmp.bert.source == "twin" else "")


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
        f"measured on {esc(cmp.measured_on)}. Agreement on {after.positions} masked held-out positions.</small>"
    )
