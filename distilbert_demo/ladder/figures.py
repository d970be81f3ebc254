"""The ladder's Pareto chart from its rows: pure functions, no models, no Gradio."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from ..palette import COLORS, TITLES, frame_figure

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from .core import Ladder


def pareto_figure(ladder: Ladder, keep: float, fidelity_limit: float) -> go.Figure:
    """Latency (x, log) against what each rung keeps (y): the share of BERT fp32's accuracy, or, where
    accuracy cannot tell the rungs apart (ladder.judged_by), the median logit error against the
    same model in fp32 (as a share of fp32's logit spread, axis reversed so that up is still better);
    marker area for the size on disk; the Pareto front; the `keep` or `fidelity_limit` line dashed."""
    by_accuracy = ladder.judged_by == "accuracy"
    reference = ladder.reference.accuracy or 0.0
    fig = go.Figure()
    if by_accuracy:
        measured = [r for r in ladder.measured() if r.accuracy is not None]
        kept = (lambda r: r.accuracy / reference) if reference else (lambda r: r.accuracy)
    else:
        measured = [r for r in ladder.measured() if r.error is not None]
        kept = lambda r: r.error  # noqa: E731
    largest = max((r.size_mb for r in measured if r.size_mb), default=1.0)
    for side in ("bert", "distilbert"):
        rows = sorted((r for r in measured if r.model == side), key=lambda r: r.latency.median_ms)
        fig.add_trace(
            go.Scatter(
                x=[r.latency.median_ms for r in rows],
                y=[kept(r) for r in rows],
                mode="markers+text",
                name=TITLES[side],
                text=[r.variant + (" ⚠" if r.strays else "") for r in rows],
                # in order of speed, neighbours' labels go round four sides, the two models opposite
                textposition=[_SIDES[(i + 2 * (side == "bert")) % len(_SIDES)] for i in range(len(rows))],
                marker={
                    "color": COLORS[side],
                    "size": [12 + 38 * (r.size_mb or 0) / largest for r in rows],
                    "sizemode": "diameter",
                    "opacity": 0.75,
                    "line": {"width": 1, "color": "#333"},
                },
                customdata=[[r.size_mb, r.latency.p90_ms, r.accuracy, r.error] for r in rows],
                hovertemplate="%{text}: %{x:.1f} ms (p90 %{customdata[1]:.1f}), %{customdata[0]:.0f} MB, "
                "accuracy %{customdata[2]:.1%}, median |Δlogit| %{customdata[3]:.2%} of fp32's spread"
                "<extra>%{fullData.name}</extra>",
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
    limit = (keep, f"keeps {keep:.0%}") if by_accuracy else (fidelity_limit, f"{fidelity_limit:.0%} of the spread")
    if limit[0] and (reference or not by_accuracy):  # no accuracy to keep a share of: no line
        fig.add_hline(y=limit[0], line_dash="dash", line_color="#999", annotation_text=limit[1])
    medians = [r.latency.median_ms for r in measured] or [1.0]
    nice = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
    ticks = [t for t in nice if min(medians) / 2 <= t <= 2 * max(medians)]
    fig.update_xaxes(
        title_text=f"latency, median ms ({ladder.seq_len} tokens, batch 1; log scale)",
        type="log",
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
    )
    if by_accuracy:
        fig.update_yaxes(title_text="accuracy kept" if reference else "accuracy", tickformat=".0%")
        title = "The compression ladder: faster to the left, more of BERT fp32's accuracy up, area = size on disk"
    else:
        top = max([fidelity_limit, *(kept(r) for r in measured)]) * 1.15
        fig.update_yaxes(
            title_text="median |Δlogit| vs own fp32 (share of its spread)",
            tickformat=".1%",
            range=[top, -0.05 * top],  # reversed: closer to fp32 is up
        )
        title = "The compression ladder: faster to the left, closer to fp32's logits up, area = size on disk"
    frame_figure(fig, title=title, height=460, legend={"orientation": "h", "y": -0.2}, top=60)
    return fig


_SIDES = ("top center", "middle right", "bottom center", "middle left")
