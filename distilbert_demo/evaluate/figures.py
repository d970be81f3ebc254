"""The Evaluate tab's figures from an evaluation's counts: pure functions, no models, no Gradio."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..palette import SCALES, TITLES


def confusion_figure(matrix: list[list[int]], labels: list[str], side: str, accuracy: float) -> go.Figure:
    """A 2x2 (or CxC) confusion matrix: rows the true label, columns the predicted one."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=[f"predicted {label}" for label in labels],
            y=[f"true {label}" for label in labels],
            colorscale=SCALES[side],
            showscale=False,
            text=matrix,
            texttemplate="%{text}",
            textfont={"size": 18},
            hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=f"{TITLES[side]}: accuracy {accuracy:.1%}",
        height=320,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        template="plotly_white",
    )
    return fig


def aligned_attention_figure(sides: dict[str, tuple[list[str], np.ndarray, int]]) -> go.Figure:
    """Head-averaged attention of the DistilBERT layer next to the BERT layer it was initialised
    from: side -> (tokens, (T, T) map, layer)."""
    titles = [f"{TITLES[side]} layer {layer} (mean of heads)" for side, (_, _, layer) in sides.items()]
    fig = make_subplots(rows=1, cols=len(sides), subplot_titles=titles, horizontal_spacing=0.12)
    for col, (side, (tokens, weights, _)) in enumerate(sides.items(), start=1):
        labels = [f"{i}:{html.escape(t)}" for i, t in enumerate(tokens)]
        fig.add_trace(go.Heatmap(z=weights, x=labels, y=labels, colorscale=SCALES[side], zmin=0, zmax=1,
                                 showscale=False, hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>"),
                      row=1, col=col)  # fmt: skip
        fig.update_yaxes(autorange="reversed", row=1, col=col)
    fig.update_layout(title="Attention of the aligned layers: where each token looks (rows attend to columns)",
                      height=460, margin={"l": 10, "r": 10, "t": 80, "b": 10}, template="plotly_white")  # fmt: skip
    return fig
