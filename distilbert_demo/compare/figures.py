"""The Compare tab's figures from a comparison's outputs: pure functions, no models, no Gradio."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..markup import percent
from ..palette import COLORS, TITLES, frame_figure

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from ..predict import TaskOutput


MASKS_PER_ROW = 3  # more [MASK] panels wrap onto another row
QA_LABEL = 24  # characters of an answer span's bar label (the offsets follow)


def _label(text: str) -> str:
    # Plotly renders a subset of HTML in labels; tokens and labels are shown as plain text.
    return html.escape(text, quote=False)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def predictions_figure(output: TaskOutput, side: str, title: str = "") -> go.Figure:
    """Horizontal bars of the top candidates: one panel per [MASK], or one panel of labels; each
    panel named after its model (`title`, else the side's: "BERT", "DistilBERT")."""
    hovers = None  # what a bar's hover names, where it is more than its label
    if output.task == "sentiment":
        panels = [[(p.label, p.score) for p in output.predictions]]
        panel_titles = ["label probabilities"]
    elif output.task == "qa":
        # One bar per span: two spans with the same text (or the same first words) are told apart
        # by their character offsets in the context. A long span is cut short (its whole text in the
        # hover): in half a page its label's column would squeeze the bars to a sliver.
        panels = [[(f"{_short(p.text, QA_LABEL)} · chars {p.start}-{p.end}", p.score) for p in output.predictions]]
        hovers = [[f"{p.text} (chars {p.start}-{p.end})" for p in output.predictions]]
        panel_titles = ["answers (p_start x p_end)"]
    else:
        panels = [[(c.token, c.score) for c in mask] for mask in output.predictions]
        panel_titles = [f"[MASK] {i}" if len(panels) > 1 else "top candidates" for i in range(1, len(panels) + 1)]
    panel_titles = [f"{title or TITLES[side]}: {name}" for name in panel_titles]  # a picture names its model
    # Masks side by side (three to a row): stacked, two panels in a projector's 240 px were 80 px each.
    cols = min(len(panels), MASKS_PER_ROW)
    rows = -(-len(panels) // cols)
    height = 90 + 190 * rows
    longest = max((len(name) for panel in panels for name, _ in panel), default=1)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=panel_titles,
        vertical_spacing=70 / height,
        # room for the next panel's token labels (about 0.015 of a half-page figure per character)
        horizontal_spacing=min(0.35, 0.04 + 0.015 * longest) if cols > 1 else 0.0,
    )
    if output.task == "qa":
        # The title over the bars' right end, growing left over the labels' column: centred over the
        # bars, a long title ran past the figure's right edge.
        fig.update_annotations(x=1.0, xanchor="right")
    for index, panel in enumerate(panels):
        row, col = index // cols + 1, index % cols + 1  # plotly counts from 1
        labels = [_label(name) for name, _ in panel][::-1]  # best at the top
        scores = [score for _, score in panel][::-1]
        named = [_label(text) for text in hovers[index]][::-1] if hovers else labels
        fig.add_trace(
            go.Bar(
                x=scores,
                y=labels,
                orientation="h",
                marker_color=COLORS[side],
                text=[percent(s) for s in scores],
                textposition="auto",
                customdata=named,
                hovertemplate="%{customdata}: %{x:.4f}<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=col,
        )
        # Scale to the largest bar (an untrained model's bars would vanish on a 0-100% axis);
        # the printed percentages keep the absolute values honest.
        fig.update_xaxes(
            range=[0, min(1.0, 1.2 * max(scores, default=1.0))],
            tickformat=".3~%",
            nticks=None if cols == 1 else 3,  # a narrow panel's 16 px ticks would run into each other
            row=row,
            col=col,
        )
        # Identical tokens at different masks must stay separate categories per panel.
        fig.update_yaxes(type="category", row=row, col=col)
    frame_figure(fig, height=height, top=40, bottom=30)
    return fig


def latency_figure(
    medians: dict[str, float], p90s: dict[str, float], measured_on: str = "", titles: dict[str, str] | None = None
) -> go.Figure:
    """Median latency of both models, with the p90 as an error bar, and what measured it."""
    sides = list(medians)
    titles = {**TITLES, **(titles or {})}
    fig = go.Figure(
        go.Bar(
            x=[titles[s] for s in sides],
            y=[medians[s] for s in sides],
            marker_color=[COLORS[s] for s in sides],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [p90s[s] - medians[s] for s in sides],
                "arrayminus": [0] * len(sides),
            },
            text=[f"{medians[s]:.1f} ms" for s in sides],
            textposition="inside",
            hovertemplate="%{x}: median %{y:.2f} ms<extra></extra>",
        )
    )
    frame_figure(
        fig,
        title="Latency (median, whisker to p90)" + (f" on {_label(measured_on)}" if measured_on else ""),
        yaxis_title="ms",
        height=300,
        top=50,
        bottom=30,
    )
    return fig
