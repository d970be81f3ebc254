"""The Evaluate tab's figures from an evaluation's counts: pure functions, no models, no Gradio.

The reel's saliency rows are drawn by explain's figure (figures to figures: evaluate composes
explain on purpose).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explain import figures as explain_figures
from ..palette import SCALES, TITLES, frame_figure

if TYPE_CHECKING:
    from ..explain.core import Explanation


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
    frame_figure(fig, title=f"{TITLES[side]}: accuracy {accuracy:.1%}", height=320, top=50)
    return fig


def aligned_attention_figure(sides: dict[str, tuple[list[str], np.ndarray, int]]) -> go.Figure:
    """Head-averaged attention of the DistilBERT layer next to the BERT layer it was initialised
    from: side -> (tokens, (T, T) map, layer)."""
    titles = [f"{TITLES[side]} layer {layer} (mean of heads)" for side, (_, _, layer) in sides.items()]
    fig = make_subplots(rows=1, cols=len(sides), subplot_titles=titles, horizontal_spacing=0.12)
    for col, (side, (tokens, weights, _)) in enumerate(sides.items(), start=1):
        labels = [f"{i}:{html.escape(t)}" for i, t in enumerate(tokens)]
        fig.add_trace(
            go.Heatmap(
                z=weights,
                x=labels,
                y=labels,
                colorscale=SCALES[side],
                zmin=0,
                zmax=1,
                showscale=False,
                hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=col)
    frame_figure(
        fig,
        title="Attention of the aligned layers: where each token looks (rows attend to columns)",
        height=460,
        top=80,
    )
    return fig


def saliency_figure(saliency: Explanation) -> go.Figure:
    """A reel case's token saliency, both models: explain's own figure (figures to figures)."""
    return explain_figures.saliency_figure(saliency.rows)
