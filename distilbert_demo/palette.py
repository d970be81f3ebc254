"""How the two sides look everywhere: display names and colours (figures, tables, the CLI)."""

from __future__ import annotations

TITLES = {"bert": "BERT", "distilbert": "DistilBERT"}
COLORS = {"bert": "#4C72B0", "distilbert": "#DD8452"}  # seaborn's deep blue and orange
SCALES = {"bert": "Blues", "distilbert": "Oranges"}  # heatmaps: the same hue as each side's colour
THIRD, FOURTH = "#55A868", "#222222"  # series of neither side (L_cos, a total loss)
TEMPLATE = "plotly_white"  # every figure's plotly template


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
