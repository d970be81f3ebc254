"""The ladder's Pareto chart from its rows: pure functions, no models, no Gradio."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from ..palette import COLORS, TITLES, frame_figure

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from .core import Ladder


def pareto_figure(ladder: Ladder, keep: float) -> go.Figure:
    """Latency (x, log) against the share of BERT fp32's accuracy kept (y); marker area for the size
    on disk; the Pareto front drawn through the rows nothing beats on both; the `keep` line dashed."""
    reference = ladder.reference.accuracy or 0.0
    fig = go.Figure()
    measured = [r for r in ladder.measured() if r.accuracy is not None]
    largest = max((r.size_mb for r in measured if r.size_mb), default=1.0)
    kept = (lambda r: r.accuracy / reference) if reference else (lambda r: r.accuracy)
    for side in ("bert", "distilbert"):
        rows = [r for r in measured if r.model == side]
        fig.add_trace(
            go.Scatter(
                x=[r.latency.median_ms for r in rows],
                y=[kept(r) for r in rows],
                mode="markers+text",
                name=TITLES[side],
                text=[r.variant for r in rows],
                # neighbours' labels alternate above and below, and the two models on opposite sides
                textposition=[("top center", "bottom center")[(i + (side == "bert")) % 2] for i in range(len(rows))],
                marker={
                    "color": COLORS[side],
                    "size": [12 + 38 * (r.size_mb or 0) / largest for r in rows],
                    "sizemode": "diameter",
                    "opacity": 0.75,
                    "line": {"width": 1, "color": "#333"},
                },
                customdata=[[r.size_mb, r.latency.p90_ms, r.accuracy] for r in rows],
                hovertemplate="%{text}: %{x:.1f} ms (p90 %{customdata[1]:.1f}), %{customdata[0]:.0f} MB, "
                "accuracy %{customdata[2]:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    front = ladder.frontier()
    fig.add_trace(
        go.Scatter(
            x=[r.latency.median_ms for r in front],
            y=[kept(r) for r in front],
            mode="lines",
            name="Pareto front",
            line={"color": "#555", "dash": "dot", "shape": "hv"},
        )
    )
    if reference:
        fig.add_hline(
            y=keep,
            line_dash="dash",
            line_color="#999",
            annotation_text=f"keeps {keep:.0%}",
            annotation_position="bottom right",
        )
    medians = [r.latency.median_ms for r in measured] or [1.0]
    nice = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
    ticks = [t for t in nice if min(medians) / 2 <= t <= 2 * max(medians)]
    fig.update_xaxes(
        title_text=f"latency, median ms ({ladder.seq_len} tokens, batch 1; log scale)",
        type="log",
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
    )
    fig.update_yaxes(title_text="accuracy kept" if reference else "accuracy", tickformat=".0%")
    frame_figure(
        fig,
        title="The compression ladder: faster to the left, more of BERT fp32's accuracy up, area = size on disk",
        height=460,
        legend={"orientation": "h", "y": -0.2},
        top=60,
    )
    return fig
