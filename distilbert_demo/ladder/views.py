"""The ladder's text and table from its rows: pure functions, no models, no Gradio."""

from __future__ import annotations

import pandas as pd

from ..markup import caveat_line, esc
from .core import FIDELITY_LIMIT, Ladder, LadderRow

COLUMNS = [
    "Model",
    "Variant",
    "Median ms",
    "p90 ms",
    "N",
    "Speed-up vs BERT fp32",
    "Size on disk (MB)",
    "Peak memory (MiB)",
    "Accuracy",
    "95% CI",
    "Retention",
    "Agreement with fp32",
    "Median |Δlogit| / fp32 spread",
    "Max |Δlogit| / fp32 spread",
    "Build s",
    "Note",
]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _speedup(row: LadderRow) -> str:
    """The speed-up, with a lossy rung's warning beside it when its logits moved past FIDELITY_LIMIT."""
    if row.speedup is None:
        return "—"
    if row.strays:
        return f"{row.speedup:.2f}x ⚠ logits off fp32 by {row.error:.1%} of their spread (limit {FIDELITY_LIMIT:.0%})"
    return f"{row.speedup:.2f}x"


def table(ladder: Ladder) -> pd.DataFrame:
    rows = []
    for r in ladder.rows:
        if not r.available:
            rows.append([r.label.split()[0], r.variant, *["—"] * (len(COLUMNS) - 3), f"unavailable: {r.reason}"])
            continue
        lat = r.latency
        ci = r.ci95
        rows.append(
            [
                r.label.split()[0],
                r.variant,
                "—" if lat is None else f"{lat.median_ms:.1f}",
                "—" if lat is None else f"{lat.p90_ms:.1f}",
                "—" if lat is None else str(lat.runs),
                _speedup(r),
                "—" if r.size_mb is None else f"{r.size_mb:.0f}",
                "n/a (ONNX Runtime)" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.1f}",
                _pct(r.accuracy),
                "—" if ci is None else f"{ci[0]:.1%}–{ci[1]:.1%}",
                _pct(r.retention) if ladder.retention_defined else "undefined",
                _pct(r.agreement_with_fp32),
                "—" if r.error is None else f"{r.error:.2%}",
                "—" if r.max_error is None else f"{r.max_error:.2%}",
                "—" if r.build_s is None else f"{r.build_s:.1f}",
                r.note,
            ]
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict(ladder: Ladder) -> str:
    """The headline for the audience, its caveat in one small line under it."""
    return f"### {esc(ladder.headline())}\n\n{caveat_line(ladder.caveats())}"


def details(ladder: Ladder) -> str:
    notes = "".join(f"\n- {esc(n)}" for n in ladder.notes)
    return (
        f"Accuracy on {esc(ladder.scored_on)} ({ladder.examples} examples), 95% Wilson interval; agreement: "
        "top-1 match with the same model in fp32 (on random weights the top logits nearly tie, so it understates "
        "what trained weights keep); |Δlogit|: against the same model in fp32 on the same examples, its median "
        f"read against the standard deviation of fp32's logits (over {FIDELITY_LIMIT:.0%}: flagged beside the "
        f"speed-up); latency: one input of {ladder.seq_len} real tokens, "
        f"batch 1, every variant interleaved run by run on {esc(ladder.measured_on)}, after a warm-up; size: "
        "the weights as saved (torch.save, or the ONNX file)." + notes
    )
