"""Attention figures from attention arrays: pure functions, no models, no Gradio.

bertviz's head and model views need scripts from a CDN and do not run inside Gradio or offline,
so the head view is a plotly heatmap and the model view a PNG grid of every layer x head (one
image of a few hundred kilobytes draws in milliseconds, where 144 plotly subplots take seconds;
a click on the image maps straight back to a (layer, head)).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from ..palette import COLORS, SCALES, TITLES, frame_figure, hex_to_rgb

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from .core import AttentionMaps
    from .session import AttentionSession

CELL = 56  # pixels per head in the model view
GAP = 4  # pixels between heads
MARGIN = 28  # pixels for the layer / head labels

SUMMARY_COLUMNS = {
    "entropy": "Entropy (bits)",
    "to_cls": "Share to [CLS]",
    "to_sep": "Share to [SEP]",
    "to_self": "Share to itself",
    "to_prev": "Share to previous token",
    "to_next": "Share to next token",
    "mean_distance": "Mean distance (tokens)",
}


def _labels(tokens: list[str]) -> list[str]:
    # Plotly renders a subset of HTML in labels; tokens are shown as plain text.
    return [html.escape(t, quote=False) for t in tokens]


def head_heatmap(maps: AttentionMaps, layer: int, head: int, side: str, threshold: float = 0.0) -> go.Figure:
    """One head's attention: rows are query tokens, columns the tokens they attend to."""
    weights = maps.attentions[layer, head].astype(float)  # (T, T)
    shown = np.where(weights >= threshold, weights, np.nan) if threshold > 0 else weights
    labels = _labels(maps.tokens)
    positions = list(range(len(labels)))  # numeric axes: repeated tokens must stay separate rows
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=positions,
            y=positions,
            customdata=np.array([[[labels[i], labels[j]] for j in positions] for i in positions], dtype=object),
            colorscale=SCALES[side],
            zmin=0,
            zmax=1,
            hovertemplate="%{customdata[0]} → %{customdata[1]}: %{z:.3f}<extra></extra>",
            colorbar={"title": "weight", "thickness": 12},
        )
    )
    tick = {"tickmode": "array", "tickvals": positions, "ticktext": labels, "tickfont": {"size": 10}}
    fig.update_xaxes(**tick, side="top", tickangle=-60, title="attends to")
    fig.update_yaxes(**tick, autorange="reversed", title="token")
    frame_figure(
        fig, title=f"{TITLES[side]} layer {layer} head {head}", height=max(380, 120 + 14 * len(labels)), top=110
    )
    return fig


def _colormap(values: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """White (0) to `rgb` (1), shape (..., 3) uint8."""
    values = np.clip(values, 0.0, 1.0)[..., None]
    white = np.array([255, 255, 255], dtype=float)
    return (white + values * (np.array(rgb, dtype=float) - white)).astype(np.uint8)


def model_view(maps: AttentionMaps, side: str, selected: tuple[int, int] | None = None) -> Image.Image:
    """Every layer (rows) x head (columns) as a grid of small heatmaps, the selected one framed.

    Each head's map is scaled by its own maximum so that sparse and diffuse heads both show.
    """
    layers, heads, tokens = maps.layers, maps.heads, len(maps.tokens)
    width = MARGIN + heads * (CELL + GAP)
    height = MARGIN + layers * (CELL + GAP)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    rgb = hex_to_rgb(COLORS[side])
    # Nearest-neighbour upsampling index from CELL pixels to token positions.
    index = np.minimum(np.arange(CELL) * tokens // CELL, tokens - 1)
    for layer in range(layers):
        for head in range(heads):
            weights = maps.attentions[layer, head]  # (T, T)
            scaled = weights / max(float(weights.max()), 1e-9)
            cell = _colormap(scaled[np.ix_(index, index)], rgb)  # (CELL, CELL, 3)
            top, left = MARGIN + layer * (CELL + GAP), MARGIN + head * (CELL + GAP)
            canvas[top : top + CELL, left : left + CELL] = cell
    if selected is not None:
        layer, head = selected
        top, left = MARGIN + layer * (CELL + GAP) - 2, MARGIN + head * (CELL + GAP) - 2
        canvas[top : top + CELL + 4, left : left + 2] = 0
        canvas[top : top + CELL + 4, left + CELL + 2 : left + CELL + 4] = 0
        canvas[top : top + 2, left : left + CELL + 4] = 0
        canvas[top + CELL + 2 : top + CELL + 4, left : left + CELL + 4] = 0
    image = Image.fromarray(canvas)
    _draw_grid_labels(image, layers, heads)
    return image


def _draw_grid_labels(image: Image.Image, layers: int, heads: int) -> None:
    draw = ImageDraw.Draw(image)
    for head in range(heads):
        draw.text((MARGIN + head * (CELL + GAP) + CELL // 2 - 4, 8), str(head), fill=(60, 60, 60))
    for layer in range(layers):
        draw.text((6, MARGIN + layer * (CELL + GAP) + CELL // 2 - 6), str(layer), fill=(60, 60, 60))


def head_figures(
    session: AttentionSession,
    bert_layer: float | None,
    bert_head: float | None,
    distil_layer: float | None,
    distil_head: float | None,
    hide_special: bool = False,
    threshold: float = 0.0,
) -> list[go.Figure]:
    """The two selected heads side by side."""
    picks = {"bert": (bert_layer, bert_head), "distilbert": (distil_layer, distil_head)}
    return [
        head_heatmap(session.shown(side, hide_special), *session.pick(side, *picks[side]), side, threshold)
        for side in session.sides()
    ]


def model_views(session: AttentionSession, bert_pick: tuple, distil_pick: tuple) -> list[Image.Image]:
    """Every head of each model as an image grid, the selected head framed."""
    picks = {"bert": bert_pick, "distilbert": distil_pick}
    return [model_view(session.shown(side), side, session.pick(side, *picks[side])) for side in session.sides()]


def cell_at(x: int, y: int, layers: int, heads: int) -> tuple[int, int] | None:
    """The (layer, head) under pixel (x, y) of a model view image, or None between cells."""
    col, col_offset = divmod(x - MARGIN, CELL + GAP)
    row, row_offset = divmod(y - MARGIN, CELL + GAP)
    if x < MARGIN or y < MARGIN or col >= heads or row >= layers:
        return None
    if col_offset >= CELL or row_offset >= CELL:  # in the gap between two cells
        return None
    return int(row), int(col)


def summaries_figure(frame: pd.DataFrame, layer_map: list[int]) -> go.Figure:
    """Each per-layer statistic, both models on one panel; DistilBERT layer i sits at the
    position of the BERT layer it was initialised from."""
    names = list(SUMMARY_COLUMNS)
    fig = make_subplots(rows=2, cols=4, subplot_titles=[SUMMARY_COLUMNS[n] for n in names])
    for i, name in enumerate(names):
        row, col = divmod(i, 4)
        for side in ("bert", "distilbert"):
            part = frame[frame["model"] == TITLES[side]]
            x = part["layer"].tolist() if side == "bert" else [layer_map[i] for i in part["layer"]]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part[name],
                    mode="lines+markers",
                    name=TITLES[side],
                    line={"color": COLORS[side]},
                    legendgroup=side,
                    showlegend=i == 0,
                    customdata=part["layer"],
                    hovertemplate=f"{TITLES[side]} layer %{{customdata}}: %{{y:.3f}}<extra></extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
        fig.update_xaxes(title_text="BERT layer", row=row + 1, col=col + 1, dtick=2)
    frame_figure(fig, height=560, top=60)
    return fig


def divergence_figure(divergence: np.ndarray, layer_map: list[int]) -> go.Figure:
    """Jensen-Shannon divergence of every DistilBERT head (rows) to every BERT head (columns)."""
    ls, hs, lt, ht = divergence.shape
    z = divergence.reshape(ls * hs, lt * ht)
    rows = [f"D{layer}.{head}" for layer in range(ls) for head in range(hs)]
    cols = [f"B{layer}.{head}" for layer in range(lt) for head in range(ht)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(cols))),
            y=list(range(len(rows))),
            customdata=np.array([[[r, c] for c in cols] for r in rows], dtype=object),
            colorscale="Viridis_r",
            zmin=0,  # the upper end follows the data: real heads differ by hundredths of a bit
            hovertemplate="DistilBERT %{customdata[0]} vs BERT %{customdata[1]}: %{z:.3f} bits<extra></extra>",
            colorbar={"title": "JS (bits)", "thickness": 12},
        )
    )
    # Outline, for each DistilBERT layer, the block of the BERT layer it was initialised from.
    for student_layer, teacher_layer in enumerate(layer_map):
        fig.add_shape(
            type="rect",
            x0=teacher_layer * ht - 0.5,
            x1=(teacher_layer + 1) * ht - 0.5,
            y0=student_layer * hs - 0.5,
            y1=(student_layer + 1) * hs - 0.5,
            line={"color": "red", "width": 2},
        )
    fig.update_xaxes(
        tickmode="array", tickvals=[layer * ht for layer in range(lt)], ticktext=[f"B{layer}" for layer in range(lt)]
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=[layer * hs for layer in range(ls)],
        ticktext=[f"D{layer}" for layer in range(ls)],
        autorange="reversed",
    )
    frame_figure(
        fig,
        title="Head-to-head Jensen-Shannon divergence (red: the BERT layer each DistilBERT layer came from)",
        height=520,
        top=60,
    )
    return fig
