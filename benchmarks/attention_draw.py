"""Benchmark: how long the Attention tab takes to draw, without running any model.

Times the model view (every layer x head as one PNG grid) and the head view (a plotly heatmap,
serialised to JSON as Gradio sends it) for 12 x 12 heads, at 32 and 64 tokens, on random
attention rows that sum to 1 (drawing cost depends on the shapes, not on the values). For
reference it also times the alternative the app does not use: 144 plotly heatmap subplots (server
side only; the browser then has to lay out 144 plots on top of that).

    python -m benchmarks.attention_draw [--tokens 32,64] [--repeats 20]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from distilbert_demo.attention import figures as attention_plots
from distilbert_demo.attention.core import AttentionMaps


def random_maps(layers: int, heads: int, tokens: int, seed: int = 0) -> AttentionMaps:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(layers, heads, tokens, tokens)).astype(np.float32) * 3
    weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)  # (L, H, T, T)
    words = ["[CLS]"] + [f"w{i}" for i in range(tokens - 2)] + ["[SEP]"]
    return AttentionMaps(name="BERT", tokens=words, attentions=weights)


def plotly_model_view(maps: AttentionMaps) -> go.Figure:
    """The alternative the app does not use: one plotly heatmap subplot per head."""
    fig = make_subplots(rows=maps.layers, cols=maps.heads, horizontal_spacing=0.005, vertical_spacing=0.005)
    for layer in range(maps.layers):
        for head in range(maps.heads):
            fig.add_trace(go.Heatmap(z=maps.attentions[layer, head], showscale=False), row=layer + 1, col=head + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def median_ms(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.median(samples)), float(np.percentile(samples, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", default="32,64")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"drawing cost, 12 layers x 12 heads, median / p90 of {args.repeats} runs")
    print(
        f"{'tokens':>6} {'model view (PNG grid)':>24} {'head view (plotly + JSON)':>28} "
        f"{'model view as 144 plotly subplots':>36}"
    )
    for tokens in (int(t) for t in args.tokens.split(",")):
        maps = random_maps(12, 12, tokens)

        def draw_model_view(maps=maps):
            image = attention_plots.model_view(maps, "bert", (3, 4))
            image.save(io.BytesIO(), format="png")  # Gradio sends the image as PNG

        def draw_head_view(maps=maps):
            attention_plots.head_heatmap(maps, 3, 4, "bert").to_json()

        def draw_plotly_grid(maps=maps):
            plotly_model_view(maps).to_json()

        mv, hv = median_ms(draw_model_view, args.repeats), median_ms(draw_head_view, args.repeats)
        pg = median_ms(draw_plotly_grid, max(3, args.repeats // 4))
        print(
            f"{tokens:>6} {mv[0]:>13.1f} / {mv[1]:>5.1f} ms {hv[0]:>17.1f} / {hv[1]:>5.1f} ms "
            f"{pg[0]:>25.1f} / {pg[1]:>5.1f} ms"
        )


if __name__ == "__main__":
    main()
