"""Live distillation figures from the run's history: pure functions, no models, no Gradio."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..palette import COLORS, FOURTH, THIRD, frame_figure

LOSS_TERMS = {
    "loss": ("total", FOURTH),
    "loss_ce": ("L_ce (soft targets)", COLORS["distilbert"]),
    "loss_mlm": ("L_mlm (masked LM)", COLORS["bert"]),
    "loss_cos": ("L_cos (hidden states)", THIRD),
}


def loss_figure(history: list[dict], steps: int) -> go.Figure:
    """The total and each loss term per step (each term unweighted, on its own panel)."""
    fig = make_subplots(rows=2, cols=2, subplot_titles=[title for title, _ in LOSS_TERMS.values()])
    x = [h["step"] for h in history]
    for i, (key, (title, color)) in enumerate(LOSS_TERMS.items()):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[h[key] for h in history],
                mode="lines+markers",
                name=title,
                line={"color": color},
                marker={"size": 3},
            ),
            row=i // 2 + 1,
            col=i % 2 + 1,
        )
        fig.update_xaxes(range=[0, max(steps, 1)], row=i // 2 + 1, col=i % 2 + 1)
    frame_figure(fig, height=420, showlegend=False, top=40)
    return fig


def agreement_figure(evaluations: list[dict], steps: int) -> go.Figure:
    """Held-out agreement with the teacher: top-1 match (left axis) and mean KL (right axis)."""
    title = "Held-out agreement with the teacher at masked positions"
    return _agreement_chart({"": (evaluations, None)}, steps, title)


RACE_LANES = {
    "teacher": ("initialised from the teacher's layers", COLORS["distilbert"]),
    "random": ("random init", THIRD),
}


def race_figure(evaluations: dict[str, list[dict]], steps: int) -> go.Figure:
    """Both students' held-out agreement with the teacher (and KL, dotted) on one chart."""
    lanes = {f"{RACE_LANES[init][0]}: ": (points, RACE_LANES[init][1]) for init, points in evaluations.items()}
    return _agreement_chart(lanes, steps, "The myth race: same steps, seed and batches")


def race_loss_figure(histories: dict[str, list[dict]], steps: int) -> go.Figure:
    """Both students' training loss per step (the total of the recipe's terms, as each lane weights them)."""
    fig = go.Figure()
    for init, history in histories.items():
        name, color = RACE_LANES[init]
        x, y = [h["step"] for h in history], [h["loss"] for h in history]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, line={"color": color}, marker={"size": 3}))
    fig.update_xaxes(title_text="step", range=[0, max(steps, 1)])
    fig.update_yaxes(title_text="training loss (total)")
    frame_figure(fig, title="The myth race: training loss", height=380, legend={"orientation": "h", "y": -0.25}, top=50)
    return fig


def _agreement_chart(lanes: dict[str, tuple[list[dict], str | None]], steps: int, title: str) -> go.Figure:
    """Top-1 agreement (solid, left axis) and KL (dotted, right axis) per lane: name -> (points, colour)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    series = (("top1", "top-1 agreement", {}, False), ("kl", "KL(teacher || student)", {"dash": "dot"}, True))
    for name, (points, color) in lanes.items():
        x = [e["step"] for e in points]
        for key, what, style, right in series:  # right: on the secondary axis
            y = [e[key] for e in points]
            line = {"color": color, **style}
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines+markers", name=f"{name}{what}", line=line), secondary_y=right
            )
    fig.update_yaxes(title_text="top-1 agreement", tickformat=".0%", range=[0, 1], secondary_y=False)
    fig.update_yaxes(title_text="KL (nats)", rangemode="tozero", secondary_y=True)
    fig.update_xaxes(title_text="step", range=[0, max(steps, 1)])
    frame_figure(fig, title=title, height=380, legend={"orientation": "h", "y": -0.25}, top=50)
    return fig
