"""The Ladder tab's handler on tiny checkpoints: the verdict, the chart, the table and the bundle agree."""

import zipfile

import gradio as gr
import pytest

from distilbert_demo.ladder.tab import ladder_handler


def test_the_ladder_from_the_page(tiny_store):
    run = ladder_handler(tiny_store)
    verdict, chart, table, details, bundle, raw = run(
        "sentiment", 16, ["int8", "onnx-int8"], 1, request=None, progress=gr.Progress()
    )
    rows = {(r["model"], r["variant"]): r for r in raw["rows"]}
    assert set(rows) == {(m, v) for m in ("bert", "distilbert") for v in ("fp32", "int8", "onnx-int8")}
    assert len(table) == 6 and list(table["Variant"]) == ["fp32", "int8", "onnx-int8"] * 2
    assert raw["judged_by"] == "fidelity"  # tiny random checkpoints: accuracy cannot tell the rungs apart
    best = raw["fastest_within_fidelity_limit"]
    assert verdict.startswith("### ") and (
        f"{'BERT' if best['model'] == 'bert' else 'DistilBERT'} {best['variant']}" in verdict
    )
    # the chart's points are the table's medians (one trace per variant, coloured by model)
    bert_points = {
        trace.name: x
        for trace in chart.data
        for text, x in zip(trace.text or (), trace.x)
        if trace.name != "Pareto front" and text.startswith("BERT ")
    }
    expected = {v: rows[("bert", v)]["latency_ms"]["median"] for v in ("fp32", "int8", "onnx-int8")}
    assert bert_points == pytest.approx(expected, abs=1e-4)
    assert "held-out" not in details and "Wilson" in details
    names = zipfile.ZipFile(bundle).namelist()
    assert "model.onnx" in names and "tokenizer_config.json" in names
