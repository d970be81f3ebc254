"""Benchmark figures from sweep rows: pure functions, no models, no Gradio."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from ..arithmetic import IMPLEMENTATION_MARGIN
from ..palette import COLORS, FOURTH, TITLES, frame_figure
from .core import PAPER_CPU_SPEEDUP, BenchRow, point_speedups

_FRAME = {"height": 360, "top": 50}  # every chart of the sweep


def _style(model: str) -> tuple[str, dict]:
    side = model.split(" ")[0]
    dashed = "pipeline" in model
    name = TITLES[side] + (" (pipeline)" if dashed else "")
    return name, {"color": COLORS[side], "dash": "dash" if dashed else "solid"}


def _series(rows: list[BenchRow], batch_size: int) -> dict[str, list[BenchRow]]:
    series: dict[str, list[BenchRow]] = {}
    for row in sorted(rows, key=lambda r: r.seq_len):
        if row.batch_size == batch_size:
            series.setdefault(row.model, []).append(row)
    return series


def latency_figure(rows: list[BenchRow], batch_size: int) -> go.Figure:
    fig = go.Figure()
    for model, points in _series(rows, batch_size).items():
        name, line = _style(model)
        fig.add_trace(
            go.Scatter(
                x=[r.seq_len for r in points],
                y=[r.median_ms for r in points],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r.p90_ms - r.median_ms for r in points],
                    "arrayminus": [r.median_ms - r.p10_ms for r in points],
                },
                mode="lines+markers",
                name=name,
                line=line,
            )
        )
    fig.update_xaxes(title="tokens", type="log", dtick=0.30103)  # ticks at powers of 2
    # ticks at powers of 2 (ms), full-size labels: a short log range would get small digit labels (D ticks)
    fig.update_yaxes(title="ms (median, whiskers p10-p90)", type="log", dtick=0.30103)
    frame_figure(fig, title=f"Latency vs length, batch {batch_size}", **_FRAME)
    return fig


BOUND_NAME = f"arithmetic bound (FLOPs ratio + {IMPLEMENTATION_MARGIN:.0%} overheads)"
PAST_BOUND = "× faster than the arithmetic allows: something else slowed BERT's runs"  # the numbers: its hover


def speedup_figure(rows: list[BenchRow], expected: Mapping[int, float]) -> go.Figure:
    """The speed-up per length with its 95% interval, under the arithmetic bound at each length
    (`expected`: the FLOPs ratios, core.flops_ratios); a point whose interval lies wholly past it is
    marked ×, its hover in the Compare tab's words. The axis always reaches every whisker."""
    fig = go.Figure()
    table = point_speedups(rows, expected)
    for batch_size in sorted({b for _, b, _ in table}):
        points = [(t, s) for t, b, s in table if b == batch_size]
        fig.add_trace(
            go.Scatter(
                x=[t for t, _ in points],
                y=[s.value for _, s in points],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [s.high - s.value for _, s in points],
                    "arrayminus": [s.value - s.low for _, s in points],
                },
                mode="lines+markers",
                marker={"symbol": ["x" if s.past_bound else "circle" for _, s in points], "size": 9},
                name=f"batch {batch_size}",
                text=[f", {s.warning()}" if s.past_bound else "" for _, s in points],
                hovertemplate="%{x} tokens: %{y:.2f}x%{text}<extra></extra>",
            )
        )
    if any(s.past_bound for *_, s in table):
        fig.add_annotation(
            text=PAST_BOUND,
            xref="paper",
            yref="paper",
            x=0,
            y=1.0,
            showarrow=False,
            xanchor="left",
            font={"color": "#C44E52"},
        )
    fig.add_hline(y=PAPER_CPU_SPEEDUP, line_dash="dot", annotation_text=f"paper, CPU: {PAPER_CPU_SPEEDUP}x")
    bounds = {t: (s.expected, s.bound) for t, _, s in table if s.bound is not None}  # the same at every batch
    if len({f"{bound:.2f}" for _, bound in bounds.values()}) == 1:  # one value at every length: one line
        bound = max(bound for _, bound in bounds.values())
        fig.add_hline(y=bound, line_dash="dash", annotation_text=f"{BOUND_NAME}: {bound:.2f}x")
    elif bounds:  # it changes with the length: a line through each length's bound
        lengths = sorted(bounds)
        fig.add_trace(
            go.Scatter(
                x=lengths,
                y=[bounds[t][1] for t in lengths],
                customdata=[bounds[t][0] for t in lengths],
                mode="lines",
                line={"dash": "dash", "color": FOURTH, "width": 1},
                name=BOUND_NAME,
                hovertemplate="%{x} tokens: bound %{y:.2f}x (FLOPs ratio %{customdata:.2f}x)<extra></extra>",
            )
        )
    drawn = [PAPER_CPU_SPEEDUP, *(bound for _, bound in bounds.values())]
    top = max([*drawn, *(s.high for *_, s in table), *(s.value for *_, s in table)])
    fig.update_xaxes(title="tokens", type="log", dtick=0.30103)
    fig.update_yaxes(title="BERT / DistilBERT median", range=[0, 1.15 * top])
    frame_figure(fig, title="DistilBERT speed-up vs length", **_FRAME)
    return fig


def _model_lines(fig: go.Figure, series: dict[str, list[BenchRow]], x: str, y: str) -> None:
    """One line per model (pipeline baselines dashed), x and y read from the rows' attributes."""
    for model, points in series.items():
        name, line = _style(model)
        fig.add_trace(
            go.Scatter(
                x=[getattr(r, x) for r in points],
                y=[getattr(r, y) for r in points],
                mode="lines+markers",
                name=name,
                line=line,
            )
        )


def memory_figure(rows: list[BenchRow], batch_size: int) -> go.Figure:
    fig = go.Figure()
    _model_lines(fig, _series(rows, batch_size), "seq_len", "peak_memory_mb")
    fig.update_xaxes(title="tokens", type="log", dtick=0.30103)
    fig.update_yaxes(title="MiB on top of the weights")
    frame_figure(fig, title=f"Peak extra memory of one forward pass, batch {batch_size}", **_FRAME)
    return fig


def throughput_figure(rows: list[BenchRow], seq_len: int) -> go.Figure:
    fig = go.Figure()
    by_model: dict[str, list[BenchRow]] = {}
    for row in sorted(rows, key=lambda r: r.batch_size):
        if row.seq_len == seq_len:
            by_model.setdefault(row.model, []).append(row)
    batches = {row.batch_size for row in rows}
    if len(batches) < 2:  # one batch size is a column of dots, not a curve: say what to do instead
        fig.add_annotation(
            text=f"Only batch size {min(batches, default=1)} was measured.<br>"
            "Choose two or more batch sizes to see throughput grow with the batch.",
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 16},
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        frame_figure(fig, title=f"Throughput vs batch size, {seq_len} tokens", **_FRAME)
        return fig
    _model_lines(fig, by_model, "batch_size", "sequences_per_s")
    fig.update_xaxes(title="batch size", type="log", dtick=0.30103)
    fig.update_yaxes(title="sequences per second")
    frame_figure(fig, title=f"Throughput vs batch size, {seq_len} tokens", **_FRAME)
    return fig
