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
    assert [im.size for im in images] == [
        (figures.MARGIN + 4 * (figures.CELL + figures.GAP),) * 2,
        (
            figures.MARGIN + 4 * (figures.CELL + figures.GAP),
            figures.MARGIN + 2 * (figures.CELL + figures.GAP),
        ),
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
    x = figures.MARGIN + head * (figures.CELL + figures.GAP) + figures.CELL // 2
    y = figures.MARGIN + layer * (figures.CELL + figures.GAP) + figures.CELL // 2
    assert figures.cell_at(x, y, layers=4, heads=4) == (layer, head)


def test_model_view_click_outside_cells():
    assert figures.cell_at(2, 2, 4, 4) is None  # the label margin
    gap_x = figures.MARGIN + figures.CELL + 1
    assert figures.cell_at(gap_x, figures.MARGIN + 5, 4, 4) is None
    assert figures.cell_at(10_000, 40, 4, 4) is None


def test_model_view_pixels_follow_the_weights(session):
    image = np.asarray(figures.model_view(session.bert, "bert"))
    cell = image[
        figures.MARGIN : figures.MARGIN + figures.CELL,
        figures.MARGIN : figures.MARGIN + figures.CELL,
    ]
    weights = session.bert.attentions[0, 0]
    t = len(session.bert.tokens)
    strongest = np.unravel_index(weights.argmax(), weights.shape)
    px = [(i * figures.CELL) // t + 1 for i in strongest]
    # the head's largest weight is drawn in the full model colour (darkest pixel of the cell)
    assert tuple(cell[px[0], px[1]]) == palette.hex_to_rgb(palette.COLORS["bert"])


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
