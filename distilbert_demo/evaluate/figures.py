"""The Evaluate tab's figures from an evaluation's counts: pure functions, no models, no Gradio."""

from __future__ import annotations

import plotly.graph_objects as go

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
