"""Benchmark figures from sweep rows: pure functions, no models, no Gradio."""

from __future__ import annotations

import plotly.graph_objects as go

from ..palette import COLORS, TITLES, frame_figure
from .core import LAYER_BOUND, PAPER_CPU_SPEEDUP, BenchRow, speedups

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
    fig.update_yaxes(title="ms (median, whiskers p10-p90)", type="log")
    frame_figure(fig, title=f"Latency vs length, batch {batch_size}", **_FRAME)
    return fig


def speedup_figure(rows: list[BenchRow], bound: float = LAYER_BOUND) -> go.Figure:
    """The speed-up per length with its 95% interval; a point whose interval lies above the layer
    bound is marked as noise. The axis always reaches every whisker."""
    fig = go.Figure()
    table = speedups(rows, bound)
    for batch_size in sorted({r["batch_size"] for r in table}):
        points = [r for r in table if r["batch_size"] == batch_size]
        fig.add_trace(
            go.Scatter(
                x=[r["seq_len"] for r in points],
                y=[r["speedup"] for r in points],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["ci95"][1] - r["speedup"] for r in points],
                    "arrayminus": [r["speedup"] - r["ci95"][0] for r in points],
                },
                mode="lines+markers",
                marker={"symbol": ["x" if r["past_bound"] else "circle" for r in points], "size": 9},
                name=f"batch {batch_size}",
                hovertemplate="%{x} tokens: %{y:.2f}x<extra></extra>",
            )
        )
    noise = [r for r in table if r["past_bound"]]
    if noise:
        fig.add_annotation(
            text=f"× above the {bound:g}x bound: noise (the timing was disturbed)",
            xref="paper",
            yref="paper",
            x=0,
            y=1.0,
            showarrow=False,
            xanchor="left",
            font={"color": "#C44E52"},
        )
    fig.add_hline(y=PAPER_CPU_SPEEDUP, line_dash="dot", annotation_text=f"paper, CPU: {PAPER_CPU_SPEEDUP}x")
    fig.add_hline(y=bound, line_dash="dash", annotation_text=f"layer-count bound: {bound:g}x")
    top = max([bound, *(r["ci95"][1] for r in table), *(r["speedup"] for r in table)])
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
