"""How the two sides look everywhere: display names and colours (figures, tables, the CLI)."""

from __future__ import annotations

TITLES = {"bert": "BERT", "distilbert": "DistilBERT"}
COLORS = {"bert": "#4C72B0", "distilbert": "#DD8452"}  # seaborn's deep blue and orange
SCALES = {"bert": "Blues", "distilbert": "Oranges"}  # heatmaps: the same hue as each side's colour
THIRD, FOURTH = "#55A868", "#222222"  # series of neither side (L_cos, a total loss)
TEMPLATE = "plotly_white"  # every figure's plotly template


def frame_figure(fig, *, height: int, top: int, bottom: int = 10, **layout) -> None:
    """Every figure's frame: the template, tight side margins (the page gives the width), `top` pixels
    for the title, and the figure's own layout settings."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": top, "b": bottom}, template=TEMPLATE, **layout)


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
