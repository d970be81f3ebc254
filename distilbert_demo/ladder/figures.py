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
    # One trace per variant, drawn with its own symbol and coloured by model: the legend names the
    # points, so no label can sit on another; the front's points carry their names as text.
    for variant in dict.fromkeys(r.variant for r in measured):
        rows = [r for r in measured if r.variant == variant]
        fig.add_trace(
            go.Scatter(
                x=[r.latency.median_ms for r in rows],
                y=[kept(r) for r in rows],
                mode="markers",
                name=variant,
                marker={
                    "symbol": SYMBOLS.get(variant, "circle"),
                    "color": [COLORS[r.model] for r in rows],
                    "size": [14 + 34 * (r.size_mb or 0) / largest for r in rows],
                    "sizemode": "diameter",
                    "opacity": 0.8,
                    "line": {"width": 1, "color": "#333"},
                },
                text=[r.label + (" ⚠" if r.strays else "") for r in rows],
                customdata=[[r.size_mb, r.latency.p90_ms, r.accuracy, r.error] for r in rows],
                hovertemplate="%{text}: %{x:.1f} ms (p90 %{customdata[1]:.1f}), %{customdata[0]:.0f} MB, "
                "accuracy %{customdata[2]:.1%}, median |Δlogit| %{customdata[3]:.2%} of fp32's spread"
                "<extra></extra>",
            )
        )
    for side in ("bert", "distilbert"):  # the colour key: legend entries only
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=TITLES[side], marker={"color": COLORS[side], "size": 12}
            )
        )
    front = ladder.frontier()
    fig.add_trace(
        go.Scatter(
            x=[r.latency.median_ms for r in front],
            y=[kept(r) for r in front],
            mode="lines+text",
            name="Pareto front",
            text=[r.label + (" ⚠" if r.strays else "") for r in front],
            # fastest first, each better than the one before: labels right of their points (the fastest
            # sits at the left edge), alternating below and above the line, never cut at the axes
            textposition=[("bottom right", "top right")[i % 2] for i in range(len(front))],
            cliponaxis=False,
            line={"color": "#555", "dash": "dot", "shape": "hv"},
            hoverinfo="skip",
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
        top = max([fidelity_limit, *(kept(r) for r in measured)])
        fig.update_yaxes(
            title_text="|Δlogit| vs fp32, % of spread",
            tickformat=".1%",
            range=[top * 1.05, -0.2 * top],  # reversed: closer to fp32 is up; room for the fp32 markers
        )
        title = "The compression ladder: faster to the left, closer to fp32's logits up, area = size on disk"
    frame_figure(fig, title=title, height=520, legend={"orientation": "h", "y": -0.18}, top=60)
    return fig


# fp32 round, bf16 square, int8 diamond, crossed when compiled; ONNX Runtime as triangles
SYMBOLS = {
    "fp32": "circle",
    "bf16": "square",
    "bf16-compiled": "square-x",
    "int8": "diamond",
    "int8-compiled": "diamond-x",
    "onnx-fp32": "triangle-up",
    "onnx-int8": "triangle-down",
}
