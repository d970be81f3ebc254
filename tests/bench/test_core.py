"""The benchmark sweep on tiny models: shapes, units, orderings; precisions; CLI; endpoint."""

import json

import pytest
import torch

from distilbert_demo import inputs, predict, sized_inputs
from distilbert_demo.bench import core as bench
from distilbert_demo.inputs import InputError

from ..test_cli import run_cli


def rows_of(items):
    return [item for item in items if isinstance(item, bench.BenchRow)]


@pytest.fixture(scope="module")
def fp32_rows(tiny_store):
    return rows_of(bench.sweep(tiny_store.pair("fill-mask"), [8, 32, 128], [1, 4], "fp32", repeats=5))


def test_sweep_shape_units_and_orderings(fp32_rows):
    models = {"bert", "distilbert", "bert (pipeline)", "distilbert (pipeline)"}
    assert len(fp32_rows) == 3 * 2 * len(models)
    assert {r.model for r in fp32_rows} == models
    for row in fp32_rows:
        assert row.precision == "fp32" and row.runs == 5
        assert 0 < row.p10_ms <= row.median_ms <= row.p90_ms
        assert row.peak_memory_mb > 0
        assert row.sequences_per_s == pytest.approx(row.batch_size / row.median_ms * 1000)
    for model in models:
        for batch in (1, 4):
            series = sorted(
                (r for r in fp32_rows if r.model == model and r.batch_size == batch), key=lambda r: r.seq_len
            )
            memory = [r.peak_memory_mb for r in series]
            assert memory == sorted(memory), f"more tokens, less memory for {model} at batch {batch}: {memory}"


def test_speedups_and_reading(fp32_rows):
    table = bench.speedups(fp32_rows)
    assert [(r["seq_len"], r["batch_size"]) for r in table] == [(8, 1), (8, 4), (32, 1), (32, 4), (128, 1), (128, 4)]
    point = next(r for r in fp32_rows if r.model == "bert" and r.seq_len == 128 and r.batch_size == 1)
    other = next(r for r in fp32_rows if r.model == "distilbert" and r.seq_len == 128 and r.batch_size == 1)
    assert table[4]["speedup"] == pytest.approx(point.median_ms / other.median_ms, rel=1e-3)
    assert bench.reading(fp32_rows).startswith(f"At 128 tokens, batch 1: {table[4]['speedup']:.2f}x (paper 1.63x")


def test_every_point_uses_exactly_the_requested_length(tiny_store):
    tok = tiny_store.pair("fill-mask").bert.tokenizer
    for seq_len in (3, 8, 100, 512):
        ids = sized_inputs.ids_of_length(tok, seq_len, with_mask=True)
        assert len(ids) == seq_len - 2 and ids.count(tok.mask_token_id) == 1


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_other_precisions_run_and_leave_the_loaded_model_alone(tiny_store, precision):
    pair = tiny_store.pair("fill-mask")
    before = {k: v.clone() for k, v in pair.bert.model.state_dict().items()}
    rows = rows_of(bench.sweep(pair, [16], [1], precision, repeats=2))
    assert {r.model for r in rows} == {"bert", "distilbert"}  # the pipeline baseline is fp32 only
    assert all(r.precision == precision and r.median_ms > 0 for r in rows)
    after = pair.bert.model.state_dict()
    assert all(torch.equal(before[k], after[k]) and after[k].dtype == before[k].dtype for k in before)


def test_int8_keeps_a_clear_top_prediction(tiny_models):
    """On a model whose top candidate wins clearly, int8 dynamic quantisation keeps it."""
    from distilbert_demo.loading import load_model

    loaded = load_model("fill-mask", "bert", tiny_models["fill-mask-bert"], allow_twin=False)
    model = loaded.model
    with torch.no_grad():
        model.cls.predictions.bias[42] += 3.0  # a margin far beyond int8 rounding
    prepared = inputs.prepare("The [MASK] sat on the mat.", "fill-mask", loaded.tokenizer, loaded.device)
    with torch.inference_mode():
        fp32 = predict.mask_logits(model, prepared).softmax(-1)
        int8 = predict.mask_logits(bench.with_precision(model, "int8"), prepared).softmax(-1)
    assert fp32.argmax(-1).tolist() == int8.argmax(-1).tolist() == [42]
    assert (fp32 - int8).abs().max() < 0.05  # and the probabilities barely move


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], [1], "fp32"), "at least one sequence length"),
        (([16], [], "fp32"), "at least one sequence length"),
        (([600], [1], "fp32"), "between 3 and 512"),
        (([16], [100], "fp32"), "batch sizes must be between 1 and 64"),
        (([16], [1], "fp16"), "fp16 is not available here"),
    ],
)
def test_bad_sweeps_get_a_message(tiny_store, args, message):
    with pytest.raises(InputError, match=message):
        list(bench.sweep(tiny_store.pair("fill-mask"), *args, repeats=2))


def test_stop_between_points(tiny_store):
    import threading

    stop = threading.Event()
    rows = []
    for item in bench.sweep(tiny_store.pair("sentiment"), [8, 16, 32, 64], [1], "fp32", repeats=2, stop=stop):
        if isinstance(item, bench.BenchRow):
            rows.append(item)
            stop.set()
    assert {r.seq_len for r in rows} == {8}
    assert {r.model for r in rows} == {"bert", "distilbert"}  # no pipeline baseline for sentiment


def test_cli_bench_json_and_csv(tiny_models, tmp_path):
    csv = tmp_path / "bench.csv"
    proc = run_cli(
        "bench",
        "--seq-lens",
        "8,16",
        "--batch-sizes",
        "1,2",
        "--repeats",
        "2",
        "--json",
        "--csv",
        str(csv),
        "--bert",
        tiny_models["fill-mask-bert"],
        "--distilbert",
        tiny_models["fill-mask-distilbert"],
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["rows"]) == 2 * 2 * 4
    for row in data["rows"]:
        assert set(row) >= {
            "model",
            "seq_len",
            "batch_size",
            "precision",
            "median_ms",
            "p10_ms",
            "p90_ms",
            "peak_memory_mb",
        }
    assert [(s["seq_len"], s["batch_size"]) for s in data["speedup"]] == [(8, 1), (8, 2), (16, 1), (16, 2)]
    assert csv.read_text().splitlines()[0].startswith("model,seq_len,batch_size,precision,median_ms")
    assert "bench" in proc.stderr  # the progress bar goes to stderr


def test_cli_bench_bad_flags(tiny_models):
    proc = run_cli("bench", "--seq-lens", "16,abc", "--bert", tiny_models["fill-mask-bert"])
    assert proc.returncode == 2 and "error: --seq-lens must be whole numbers" in proc.stderr
    proc = run_cli(
        "bench",
        "--seq-lens",
        "1000",
        "--bert",
        tiny_models["fill-mask-bert"],
        "--distilbert",
        tiny_models["fill-mask-distilbert"],
    )
    assert proc.returncode == 2 and "between 3 and 512" in proc.stderr and "Traceback" not in proc.stderr
