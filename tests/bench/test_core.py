"""The benchmark sweep on tiny models: shapes, units, orderings; precisions; CLI; endpoint."""

import json

import pytest
import torch

from distilbert_demo import inputs, predict, sized_inputs
from distilbert_demo.bench import core as bench
from distilbert_demo.inputs import InputError

from ..conftest import tiny_vocab
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


def tiny_flops(layers: int, tokens: int, vocabulary: int, width: int = 32, inner: int = 64) -> int:
    """One fill-mask forward pass of a tiny model (conftest's: width 32, feed-forward 64), counted by
    hand: 2 FLOPs a multiply-add; per layer the four projections, the scores and the weighted sum,
    the feed-forward pair; then the transform and the vocabulary projection at the one mask."""
    projections = 4 * tokens * width * width
    attention = 2 * tokens * tokens * width
    feed_forward = 2 * tokens * width * inner
    head = width * width + width * vocabulary
    return 2 * (layers * (projections + attention + feed_forward) + head)


def test_speedups_and_reading(tiny_store, fp32_rows):
    pair = tiny_store.pair("fill-mask")
    expected = bench.flops_ratios(pair, [8, 32, 128])
    vocabulary = len(pair.bert.tokenizer)  # BERT 4 layers, DistilBERT 2 (conftest)
    for t in (8, 32, 128):
        assert expected[t] == pytest.approx(tiny_flops(4, t, vocabulary) / tiny_flops(2, t, vocabulary), rel=1e-12)
    table = bench.speedups(fp32_rows, expected)
    assert [(r["seq_len"], r["batch_size"]) for r in table] == [(8, 1), (8, 4), (32, 1), (32, 4), (128, 1), (128, 4)]
    point = next(r for r in fp32_rows if r.model == "bert" and r.seq_len == 128 and r.batch_size == 1)
    other = next(r for r in fp32_rows if r.model == "distilbert" and r.seq_len == 128 and r.batch_size == 1)
    assert table[4]["speedup"] == pytest.approx(point.median_ms / other.median_ms, rel=1e-3)
    for r in table:  # the same FLOPs ratio at both batch sizes; the bound 10% above it
        assert r["expected"] == pytest.approx(expected[r["seq_len"]], abs=1e-4)
        assert r["bound"] == pytest.approx(expected[r["seq_len"]] * 1.10, abs=1e-4)
        assert r["past_bound"] == (r["ci95"][0] > r["bound"])
    text = bench.reading(fp32_rows, expected)
    assert text.startswith(f"At 128 tokens, batch 1: {table[4]['speedup']:.2f}x (paper 1.63x")
    ratios = f"{min(expected.values()):.2f}x-{max(expected.values()):.2f}x"
    assert f"(the FLOPs ratio at these lengths is {ratios})" in text and "halving" not in text


@pytest.mark.parametrize(
    ("task", "slow", "fast"),
    [  # width 8, feed-forward 16, 50 words, 4 tokens; BERT 2 layers, DistilBERT 1: 4608 FLOPs a layer
        ("fill-mask", 2 * 4608 + 928, 4608 + 928),  # transform 8x8 and vocabulary 8x50 at the mask
        ("sentiment", 2 * 4608 + 160, 4608 + 160),  # pooler 8x8 and classifier 8x2 on [CLS]
        ("qa", 2 * 4608 + 128, 4608 + 128),  # start and end logits at the 4 tokens
    ],
)
def test_the_expected_speed_up_is_the_flops_ratio_of_the_configs(task, slow, fast):
    from types import SimpleNamespace

    from transformers import BertConfig, DistilBertConfig

    teacher = BertConfig(hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16, vocab_size=50)
    student = DistilBertConfig(dim=8, n_layers=1, n_heads=2, hidden_dim=16, vocab_size=50)
    side = lambda config: SimpleNamespace(model=SimpleNamespace(config=config))  # noqa: E731
    pair = SimpleNamespace(task=task, bert=side(teacher), distilbert=side(student))
    assert tiny_flops(1, 4, 50, width=8, inner=16) == 4608 + 928  # the two counts agree
    assert bench.flops_ratios(pair, [4, 4]) == {4: pytest.approx(slow / fast, rel=1e-12)}


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
    vocabulary = len(tiny_vocab())
    for s in data["speedup"]:  # each point's FLOPs ratio and bound, whatever the batch
        ratio = tiny_flops(4, s["seq_len"], vocabulary) / tiny_flops(2, s["seq_len"], vocabulary)
        assert s["expected"] == pytest.approx(ratio, abs=1e-4) and s["bound"] == pytest.approx(1.1 * ratio, abs=1e-4)
    assert "layer_bound" not in data and "the FLOPs ratio at these lengths is" in data["reading"]
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
