"""The Attention tab's logic: one extraction, then redraws; CLI attention; the model view grid."""

import io
import json

import gradio as gr
import numpy as np
import pandas as pd
import pytest

from distilbert_demo import kept, palette
from distilbert_demo.attention import core as attention
from distilbert_demo.attention import figures
from distilbert_demo.attention import session as attention_session
from distilbert_demo.attention.tab import INPUTS, attention_handlers, input_check
from distilbert_demo.inputs import InputError
from distilbert_demo.kept import KEPT
from distilbert_demo.tabs import validator

from ..test_cli import run_cli


@pytest.fixture(scope="module")
def session(tiny_store):
    return attention_session.analyse(tiny_store.pair("fill-mask"), "The [MASK] barked at the cat in the house.")


def test_analyse_shapes_and_default_map(session):
    assert session.bert.attentions.shape[:2] == (4, 4)
    assert session.distilbert.attentions.shape[:2] == (2, 4)
    assert session.layer_map == [0, 2]  # every other layer of a 4-layer teacher
    assert session.divergence.shape == (2, 4, 4, 4)
    assert set(session.summaries["model"]) == {"BERT", "DistilBERT"}


def test_redraws_do_not_run_the_models(session, monkeypatch):
    def no_model_runs(*args, **kwargs):
        raise AssertionError("a redraw ran a model")

    monkeypatch.setattr(attention, "extract", no_model_runs)
    fig_b, fig_d = figures.head_figures(session, 3, 1, 1, 2, hide_special=True, threshold=0.1)
    assert "layer 3 head 1" in fig_b.layout.title.text and "layer 1 head 2" in fig_d.layout.title.text
    assert "[CLS]" not in fig_b.layout.xaxis.ticktext
    shown = np.asarray(fig_b.data[0].z, dtype=float)
    assert np.all(np.isnan(shown) | (shown >= 0.1))
    images = figures.model_views(session, (3, 1), (1, 2))
    width = max(figures.MIN_WIDTH, figures.LEFT + 4 * (figures.CELL + figures.GAP))
    assert [im.size for im in images] == [
        (width, figures.TOP + 4 * (figures.CELL + figures.GAP) + figures.LEGEND),
        (width, figures.TOP + 2 * (figures.CELL + figures.GAP) + figures.LEGEND),
    ]
    relinked = attention_session.with_layer_map(session, "3, 1")
    assert relinked.layer_map == [3, 1] and relinked.bert is session.bert
    with pytest.raises(InputError, match="give 2 BERT layers"):
        attention_session.with_layer_map(session, "0")


def test_heatmap_keeps_repeated_tokens_apart(session):
    fig = figures.head_heatmap(session.bert, 0, 0, "bert")
    assert list(fig.layout.xaxis.ticktext) == session.bert.tokens  # "the" appears twice, two columns
    assert np.allclose(np.asarray(fig.data[0].z), session.bert.attentions[0, 0])


def test_long_input_is_cut_for_drawing_only(tiny_store):
    long = attention_session.analyse(tiny_store.pair("fill-mask"), "dog " * 100)
    assert len(long.bert.tokens) == 102  # computation on everything
    assert any("show the first 64" in n for n in long.notices)
    fig, _ = figures.head_figures(long, 0, 0, 0, 0)
    assert len(fig.layout.xaxis.ticktext) == 64


@pytest.mark.parametrize("layer,head", [(0, 0), (3, 2), (1, 3)])
def test_model_view_click_maps_back_to_the_cell(layer, head):
    left, top = figures.cell_origin(layer, head)
    x, y = left + figures.CELL // 2, top + figures.CELL // 2
    assert figures.cell_at(x, y, layers=4, heads=4) == (layer, head)


def test_model_view_click_outside_cells():
    assert figures.cell_at(2, 2, 4, 4) is None  # the label margin
    gap_x = figures.LEFT + figures.CELL + 1
    assert figures.cell_at(gap_x, figures.TOP + 5, 4, 4) is None
    assert figures.cell_at(figures.LEFT + 5, figures.TOP - 5, 4, 4) is None  # the head numbers' row
    assert figures.cell_at(10_000, 40, 4, 4) is None


def test_model_view_pixels_follow_the_weights(session):
    image = np.asarray(figures.model_view(session.bert, "bert"))
    left, top = figures.cell_origin(0, 0)
    cell = image[top : top + figures.CELL, left : left + figures.CELL].astype(int)
    weights = session.bert.attentions[0, 0]
    t = len(session.bert.tokens)
    px = lambda i: (i * figures.CELL) // t + 1  # noqa: E731 - the pixel drawn for token position i
    strongest = [px(i) for i in np.unravel_index(weights.argmax(), weights.shape)]
    weakest = [px(i) for i in np.unravel_index(weights.argmin(), weights.shape)]
    scale = figures.colour_scale("bert")
    dark, light = (palette.hex_to_rgb(_hex(scale[i][1])) for i in (-1, 0))
    # the head's largest weight in the scale's darkest colour, its smallest in the lightest: its own range
    assert np.abs(cell[strongest[0], strongest[1]] - dark).max() <= 1
    assert np.abs(cell[weakest[0], weakest[1]] - light).max() <= 1


def _hex(rgb: str) -> str:
    return "#" + "".join(f"{int(float(v)):02x}" for v in rgb[4:-1].split(","))


def _near_uniform(t: int = 10, spread: float = 0.02, seed: int = 0) -> attention.AttentionMaps:
    """An untrained head: every weight near 1/t, rows summing to 1."""
    rng = np.random.default_rng(seed)
    weights = 1 + spread * rng.standard_normal((1, 1, t, t))
    return attention.AttentionMaps("twin", [f"w{i}" for i in range(t)], weights / weights.sum(-1, keepdims=True))


def test_a_near_uniform_head_is_drawn_on_its_own_range_and_says_so():
    maps = _near_uniform()
    weights = maps.attentions[0, 0]
    fig = figures.head_heatmap(maps, 0, 0, "bert")
    trace = fig.data[0]
    # a fixed 0-1 scale drew every cell within 2% of its bottom: a blank square
    assert weights.max() - weights.min() < 0.02
    assert (trace.zmin, trace.zmax) == pytest.approx((weights.min(), weights.max()))
    # the colour bar names the range and what it is
    assert list(trace.colorbar.ticktext) == [f"{weights.min():.3f}", f"{weights.max():.3f}"]
    assert "min–max" in trace.colorbar.title.text and "this map" in trace.colorbar.title.text
    # the scale starts past its near-white end: the smallest weight is not drawn as the page's white
    assert trace.colorscale[0][1] != "rgb(255, 255, 255)"
    assert min(palette.hex_to_rgb(_hex(trace.colorscale[0][1]))) < 235


def test_a_threshold_narrows_the_range_to_the_weights_still_shown():
    maps = _near_uniform()
    weights = maps.attentions[0, 0]
    cut = float(np.median(weights))
    trace = figures.head_heatmap(maps, 0, 0, "distilbert", threshold=cut).data[0]
    assert trace.zmin == pytest.approx(weights[weights >= cut].min()) and trace.zmax == pytest.approx(weights.max())


@pytest.mark.parametrize(
    "weights,expected",
    [
        (np.full((4, 4), 0.25), (0.0, 0.25)),  # no spread at all: drawn flat, not divided by zero
        (np.full((2, 2), np.nan), (0.0, 1.0)),  # everything hidden by the threshold
        (np.array([[0.1, 0.9], [0.5, 0.5]]), (0.1, 0.9)),
    ],
)
def test_colour_range_edges(weights, expected):
    assert figures.colour_range(weights) == pytest.approx(expected)


def test_model_view_shows_structure_of_near_uniform_heads_and_labels_outside_the_cells():
    maps = _near_uniform(t=8)
    image = np.asarray(figures.model_view(maps, "distilbert"))
    left, top = figures.cell_origin(0, 0)
    cell = image[top : top + figures.CELL, left : left + figures.CELL].astype(int)
    assert np.ptp(cell.sum(-1)) > 200  # dark and light cells: the head's pattern, not one flat colour
    # the head number sits above the grid, in its column; the layer number left of it: no text on a cell
    above = image[figures.FONT_PX : top - 2, left : left + figures.CELL]
    beside = image[top : top + figures.CELL, : left - 2]
    assert (above < 128).any() and (beside < 128).any()
    flat = figures.model_view(attention.AttentionMaps("u", ["a", "b"], np.full((1, 1, 2, 2), 0.5)), "bert")
    flat_cell = np.asarray(flat)[top : top + figures.CELL, left : left + figures.CELL]
    assert len(np.unique(flat_cell.reshape(-1, 3), axis=0)) == 1  # a uniform head is one colour, no error


def test_summaries_csv_round_trips(session):
    frame = pd.read_csv(io.BytesIO(attention_session.summaries_csv(session)))
    assert list(frame.columns) == list(session.summaries.columns)
    assert np.allclose(frame.drop(columns="model").values, session.summaries.drop(columns="model").values, atol=1e-6)


def test_attention_handler_and_bad_input(tiny_store):
    analyse, redraw, follow_layer, select_head, relink = attention_handlers(tiny_store)
    outputs = analyse("fill-mask", "The cat sat on the mat.", "")
    state, notice, *_, raw = outputs
    assert state is not None and notice == ""
    assert raw["models"]["distilbert"]["layer_map"] == [0, 2]
    assert follow_layer(state, 1) == 2
    assert len(outputs) == 13  # one value per output component
    kept_view = KEPT.get("local", state, again="Show attention")  # the page holds a key; the server the view
    assert kept.describe(kept.size_of(kept_view), KEPT.budget) in outputs[8]  # what it costs, said under it
    with pytest.raises(gr.Error, match="Please enter some text."):
        analyse("fill-mask", "   ", "")
    with pytest.raises(gr.Error, match="layer 99"):
        analyse("fill-mask", "fine text", "0, 99")
    # before any model runs, the validator puts the layer map's message next to the layer map
    check = validator(INPUTS, input_check(tiny_store), blame="text")
    shown = dict(zip(INPUTS, check("fill-mask", "fine text", "0, 99", None)))
    assert shown["layer_map"]["is_valid"] is False and "layer 99" in shown["layer_map"]["message"]


def test_cli_attention_json_and_npz(tiny_models, tmp_path):
    npz = tmp_path / "maps.npz"
    proc = run_cli(
        "attention",
        "--text",
        "The cat sat on the mat.",
        "--json",
        "--npz",
        str(npz),
        "--bert",
        tiny_models["fill-mask-bert"],
        "--distilbert",
        tiny_models["fill-mask-distilbert"],
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for side, layers in (("bert", 4), ("distilbert", 2)):
        model = data["models"][side]
        assert set(model) >= {"tokens", "layers", "heads", "layer_map", "summaries"}
        assert model["layers"] == layers and model["heads"] == 4 and len(model["summaries"]) == layers
        assert set(model["summaries"][0]) >= {"entropy", "to_cls", "to_sep", "to_self", "mean_distance"}
    arrays = np.load(npz)
    t = len(data["models"]["bert"]["tokens"])
    assert arrays["bert"].shape == (4, 4, t, t) and arrays["distilbert"].shape == (2, 4, t, t)
    assert np.allclose(arrays["bert"].sum(-1), 1.0, atol=1e-5)


def test_cli_attention_bad_layer_map(tiny_models):
    proc = run_cli(
        "attention",
        "--text",
        "fine",
        "--layer-map",
        "0,1,2",
        "--bert",
        tiny_models["fill-mask-bert"],
        "--distilbert",
        tiny_models["fill-mask-distilbert"],
    )
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: give 2 BERT layers")
