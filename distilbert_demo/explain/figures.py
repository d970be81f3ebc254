"""Saliency rows from attributions: pure functions, no models, no Gradio."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..markup import percent
from ..palette import TITLES, frame_figure

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from .core import Saliency


def row_title(row: Saliency) -> str:
    part = f" ({row.part})" if row.part else ""
    return f"{TITLES[row.side]}{part} → {html.escape(row.target)} ({percent(row.probability)})"


def saliency_figure(rows: list[Saliency], title: str = "Which tokens pushed each model to its answer") -> go.Figure:
    """One row of tokens per model (and per span boundary for qa), each shaded by its attribution:
    red pushes toward the model's answer, blue away. Each row is scaled to its own largest
    attribution (so the two models' rows compare by pattern, not by size); the hover shows the value."""
    fig = make_subplots(
        rows=len(rows),
        cols=1,
        subplot_titles=[row_title(r) for r in rows],
        vertical_spacing=min(0.25, 0.9 / max(len(rows), 1)),
    )
    for index, row in enumerate(rows, start=1):
        scale = max((abs(a) for a in row.attributions), default=0.0) or 1.0
        tokens = [html.escape(t) for t in row.tokens]
        columns = [f"{i}:{t}" for i, t in enumerate(tokens)]  # a token may repeat: positions keep them apart
        fig.add_trace(
            go.Heatmap(
                z=[[a / scale for a in row.attributions]],
                x=columns,
                y=[""],
                text=[tokens],
                texttemplate="%{text}",
                customdata=[row.attributions],
                zmin=-1,
                zmax=1,
                colorscale="RdBu",
                reversescale=True,
                showscale=index == 1,
                colorbar={"title": "share of the row's largest", "len": 0.6},
                hovertemplate="%{text}: %{customdata:.4g}<extra></extra>",
                xgap=2,
            ),
            row=index,
            col=1,
        )
        fig.update_xaxes(showticklabels=False, row=index, col=1)
        fig.update_yaxes(showticklabels=False, row=index, col=1)
    frame_figure(fig, title=title, height=110 + 120 * len(rows), top=80)
    return fig
