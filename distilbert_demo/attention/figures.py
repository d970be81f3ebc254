"""Attention figures from attention arrays: pure functions, no models, no Gradio.

bertviz's head and model views need scripts from a CDN and do not run inside Gradio or offline,
so the head view is a plotly heatmap and the model view a PNG grid of every layer x head (one
image of a few hundred kilobytes draws in milliseconds, where 144 plotly subplots take seconds;
a click on the image maps straight back to a (layer, head)).
"""

from __future__ import annotations

import functools
import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont
from plotly.colors import get_colorscale, sample_colorscale
from plotly.subplots import make_subplots

from ..palette import COLORS, SCALES, TITLES, frame_figure

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from .core import AttentionMaps
    from .session import AttentionSession

CELL = 56  # pixels per head in the model view
GAP = 4  # pixels between heads
FONT_PX = 26  # the model view's text, in the image's own pixels: drawn about 0.8x on a 1280 px projector, >= 16 px
LEFT = 48  # pixels left of the grid for the layer numbers (two digits at FONT_PX)
TOP = 2 * FONT_PX + 16  # pixels above the grid: the title line, then the head numbers
LEGEND = FONT_PX + 28  # pixels under the grid: the colour bar and what it means
MIN_WIDTH = 640  # a model with few heads still has room for the title and the colour bar
SCALE_FROM = 0.15  # the colour scales start past their near-white end: a map's smallest weight stays visible
FLAT = 1e-6  # a map whose weights span less than this is drawn flat (one colour), not stretched

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


def colour_range(weights: np.ndarray) -> tuple[float, float]:
    """The colour range of one map: its own smallest and largest weight (hidden cells, NaN, left out).

    An untrained model's heads are near-uniform (every weight near 1/T): on a fixed 0-1 scale they
    are blank squares; on their own range their structure shows, and the colour bar gives the range.
    A map with no spread at all (or nothing shown) gets a range just above its value: drawn flat.
    """
    finite = weights[np.isfinite(weights)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high - low >= FLAT else (min(low, 0.0), max(high, FLAT))


def colour_scale(side: str) -> list[list]:
    """The side's sequential scale (palette.SCALES) from SCALE_FROM on, as plotly stops (light to dark)."""
    stops = np.linspace(0.0, 1.0, 9)
    colours = sample_colorscale(get_colorscale(SCALES[side]), list(SCALE_FROM + (1 - SCALE_FROM) * stops))
    return [[float(at), colour] for at, colour in zip(stops, colours)]


@functools.cache
def _lookup(side: str) -> np.ndarray:
    """colour_scale(side) as 256 RGB rows, for the model view's pixels (the head map's own colours)."""
    rows = sample_colorscale(colour_scale(side), list(np.linspace(0.0, 1.0, 256)))
    return np.array([[int(float(v)) for v in row[4:-1].split(",")] for row in rows], dtype=np.uint8)


def head_heatmap(maps: AttentionMaps, layer: int, head: int, side: str, threshold: float = 0.0) -> go.Figure:
    """One head's attention: rows are query tokens, columns the tokens they attend to. Colours run
    over this map's own range (colour_range), which the colour bar names."""
    weights = maps.attentions[layer, head].astype(float)  # (T, T)
    shown = np.where(weights >= threshold, weights, np.nan) if threshold > 0 else weights
    low, high = colour_range(shown)
    labels = _labels(maps.tokens)
    positions = list(range(len(labels)))  # numeric axes: repeated tokens must stay separate rows
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=positions,
            y=positions,
            customdata=np.array([[[labels[i], labels[j]] for j in positions] for i in positions], dtype=object),
            colorscale=colour_scale(side),
            zmin=low,
            zmax=high,
            hovertemplate="%{customdata[0]} → %{customdata[1]}: %{z:.3f}<extra></extra>",
            colorbar={
                "title": {"text": "weight:<br>this map's<br>min–max", "side": "top"},
                "thickness": 14,
                "tickvals": [low, high],
                "ticktext": [f"{low:.3f}", f"{high:.3f}"],
            },
        )
    )
    tick = {"tickmode": "array", "tickvals": positions, "ticktext": labels, "tickfont": {"size": 10}}
    fig.update_xaxes(**tick, side="top", tickangle=-60, title="attends to")
    fig.update_yaxes(**tick, autorange="reversed", title="token")
    frame_figure(
        fig, title=f"{TITLES[side]} layer {layer} head {head}", height=max(380, 120 + 14 * len(labels)), top=110
    )
    return fig


def _colormap(values: np.ndarray, side: str) -> np.ndarray:
    """Values in 0-1 to the side's colour scale (light 0, dark 1), shape (..., 3) uint8."""
    return _lookup(side)[np.round(np.clip(values, 0.0, 1.0) * 255).astype(int)]


def cell_origin(layer: int, head: int) -> tuple[int, int]:
    """The top-left pixel (x, y) of (layer, head) in a model view image."""
    return LEFT + head * (CELL + GAP), TOP + layer * (CELL + GAP)


def model_view(maps: AttentionMaps, side: str, selected: tuple[int, int] | None = None) -> Image.Image:
    """Every layer (rows) x head (columns) as a grid of small heatmaps, the selected one framed.

    Each head's map runs over its own min-max (colour_range) so that sparse, diffuse and
    near-uniform heads all show; the colour bar under the grid says so.
    """
    layers, heads, tokens = maps.layers, maps.heads, len(maps.tokens)
    width = max(MIN_WIDTH, LEFT + heads * (CELL + GAP))
    height = TOP + layers * (CELL + GAP) + LEGEND
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    # Nearest-neighbour upsampling index from CELL pixels to token positions.
    index = np.minimum(np.arange(CELL) * tokens // CELL, tokens - 1)
    for layer in range(layers):
        for head in range(heads):
            weights = maps.attentions[layer, head].astype(float)  # (T, T)
            low, high = colour_range(weights)
            cell = _colormap((weights[np.ix_(index, index)] - low) / (high - low), side)  # (CELL, CELL, 3)
            left, top = cell_origin(layer, head)
            canvas[top : top + CELL, left : left + CELL] = cell
    if selected is not None:  # framed black in the gap, white inside: it shows on light and dark cells
        left, top = cell_origin(*selected)
        for ring, colour in ((2, 0), (0, 255)):
            x0, y0, x1, y1 = left - ring, top - ring, left + CELL + ring, top + CELL + ring
            canvas[y0 : y0 + 2, x0:x1] = canvas[y1 - 2 : y1, x0:x1] = colour
            canvas[y0:y1, x0 : x0 + 2] = canvas[y0:y1, x1 - 2 : x1] = colour
    image = Image.fromarray(canvas)
    _draw_grid_labels(image, side, layers, heads)
    return image


def _draw_grid_labels(image: Image.Image, side: str, layers: int, heads: int) -> None:
    """The title, the head and layer numbers, and the colour bar with what its ends mean."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=FONT_PX)
    ink = (40, 40, 40)
    draw.text((4, 4), f"{TITLES[side]}: layers (rows), heads (columns)", fill=ink, font=font)
    for head in range(heads):
        left, _ = cell_origin(0, head)
        draw.text((left + CELL // 2, TOP - 4), str(head), fill=ink, font=font, anchor="md")
    for layer in range(layers):
        _, top = cell_origin(layer, 0)
        draw.text((LEFT - 8, top + CELL // 2), str(layer), fill=ink, font=font, anchor="rm")
    # The colour bar: each head runs over its own range, so its ends are words, not numbers.
    top = TOP + layers * (CELL + GAP) + 10
    before, after = "each head: its own min", "its max"
    left = LEFT + int(draw.textlength(before, font=font)) + 10
    bar = _colormap(np.linspace(0.0, 1.0, 160), side)  # (160, 3)
    image.paste(Image.fromarray(np.repeat(bar[None], FONT_PX, axis=0)), (left, top))
    middle = top + FONT_PX // 2
    draw.text((LEFT, middle), before, fill=ink, font=font, anchor="lm")
    draw.text((left + 170, middle), after, fill=ink, font=font, anchor="lm")


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
    col, col_offset = divmod(x - LEFT, CELL + GAP)
    row, row_offset = divmod(y - TOP, CELL + GAP)
    if x < LEFT or y < TOP or col >= heads or row >= layers:
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
