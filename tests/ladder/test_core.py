"""The compression ladder on tiny checkpoints: exact variants are exact, lossy ones are counted
right, unavailable ones say why, and the exported files load elsewhere."""

import copy
import dataclasses
import json
import os
import subprocess
import sys
import zipfile
from contextlib import redirect_stdout
from io import StringIO

import numpy as np
import onnxruntime
import pytest
import torch
from transformers import AutoTokenizer

from distilbert_demo import cli, variants
from distilbert_demo.labelled import load_labelled_file
from distilbert_demo.ladder import core
from distilbert_demo.measure import LatencyStats

PAIRS = (["The film was long.", "A dull, slow and far too long story about nothing."], ["Yes.", "It was bad, sadly."])


def named(encoded) -> dict:
    return {k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


@pytest.mark.parametrize("task", ["sentiment", "fill-mask"])
def test_onnx_fp32_gives_torch_logits_on_padded_pairs_and_loads_in_a_fresh_session(tiny_store, tmp_path, task):
    for model in tiny_store.pair(task).sides():
        variant = variants.build(model, "onnx-fp32", tmp_path)
        # three sentence pairs: another batch size and length than the export's example, padding, segment ids
        inputs = named(model.tokenizer([*PAIRS[0], "Fine."], [*PAIRS[1], "Ok."], padding=True, return_tensors="pt"))
        assert inputs["attention_mask"].min() == 0
        if model.side == "bert":
            assert inputs["token_type_ids"].max() == 1  # the second segment really is segment 1
        with torch.inference_mode():
            expected = model.model(**inputs).logits
        assert (variant.forward(inputs) - expected).abs().max() < variants.EXACT_TOLERANCE
        fresh = onnxruntime.InferenceSession(str(variant.files[0]), providers=["CPUExecutionProvider"])
        names = {i.name for i in fresh.get_inputs()}
        got = fresh.run(None, {k: v.numpy() for k, v in inputs.items() if k in names})[0]
        assert np.abs(got - expected.numpy()).max() < variants.EXACT_TOLERANCE


def _independent_logits(module, tokenizer, data) -> torch.Tensor:
    """The logits per example, batched as the ladder batches (so padding is the same)."""
    logits = []
    for start in range(0, len(data), core.BATCH):
        batch = named(
            tokenizer(
                data.texts[start : start + core.BATCH],
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="pt",
            )
        )
        with torch.inference_mode():
            logits.append(module(**batch).logits.float())
    return torch.cat(logits)


def test_lossy_variants_report_what_an_independent_count_finds(tiny_store, tmp_path):
    pair = tiny_store.pair("sentiment")
    data = load_labelled_file(None)
    built = core.build_and_score(pair, tmp_path, ["bf16", "int8"], data)
    for model in pair.sides():
        truth = [model.labels.index(label) for label in data.labels]
        fp32_logits = _independent_logits(model.model, model.tokenizer, data).numpy()
        fp32 = fp32_logits.argmax(-1).tolist()
        for name in ("fp32", "bf16", "int8"):
            row = next(r for r in built.rows if r.model == model.side and r.variant == name)
            logits = _independent_logits(built.runs[(model.side, name)].module, model.tokenizer, data).numpy()
            mine = logits.argmax(-1).tolist()
            assert row.correct == sum(p == t for p, t in zip(mine, truth)) and row.total == len(data)
            assert row.agreement_with_fp32 == pytest.approx(sum(p == q for p, q in zip(mine, fp32)) / len(data))
            # fidelity, by numpy: |Δlogit| against fp32 (the median of an even count: torch takes the lower)
            difference = np.sort(np.abs(logits - fp32_logits).ravel())
            spread = fp32_logits.std(ddof=1)
            assert row.logit_spread == pytest.approx(spread, rel=1e-5)
            assert row.max_abs_diff_vs_fp32 == pytest.approx(difference[-1], rel=1e-5, abs=1e-7)
            assert row.error == pytest.approx(difference[(len(difference) - 1) // 2] / spread, rel=1e-4, abs=1e-8)
            assert row.strays == (row.error > core.FIDELITY_LIMIT)
        assert next(built.runs[(model.side, "bf16")].module.parameters()).dtype == torch.bfloat16
    ladder = core.time_ladder(built, 16, 1.0)
    reference = ladder.reference
    for row in ladder.rows:
        assert row.speedup == pytest.approx(reference.latency.median_ms / row.latency.median_ms)
        assert row.retention == pytest.approx(row.accuracy / reference.accuracy)
        low, high = row.ci95
        assert low <= row.accuracy <= high


def test_fill_mask_is_scored_on_the_masked_word(tiny_store, tmp_path):
    pair = tiny_store.pair("fill-mask")
    built = core.build_and_score(pair, tmp_path, ["fp32"])
    sentences = core.masked_sentences()
    for model in pair.sides():
        row = next(r for r in built.rows if r.model == model.side)
        hits = 0
        for sentence in sentences:  # one at a time, no padding: the same argmax as the batched scoring
            ids = model.tokenizer(sentence, return_tensors="pt")["input_ids"]
            column = (ids.shape[1] - 1) // 2
            truth = int(ids[0, column])
            ids[0, column] = model.tokenizer.mask_token_id
            with torch.inference_mode():
                hits += int(model.model(input_ids=ids).logits[0, column].argmax()) == truth
        assert (row.correct, row.total) == (hits, len(sentences))
        assert row.agreement_with_fp32 == 1.0 and row.max_abs_diff_vs_fp32 == 0.0


def test_an_unavailable_variant_is_refused_with_its_reason(tiny_store, tmp_path, monkeypatch):
    why = "onnxruntime not installed (pip install onnxruntime)"
    monkeypatch.setitem(variants._WHY_NOT, "onnx-int8", lambda: why)
    pair = tiny_store.pair("sentiment")
    with pytest.raises(variants.VariantUnavailable, match=r"onnx-int8: onnxruntime not installed"):
        variants.build(pair.bert, "onnx-int8", tmp_path)
    ladder = core.time_ladder(core.build_and_score(pair, tmp_path, ["onnx-int8"]), 16, 0.5)
    refused = [r for r in ladder.rows if r.variant == "onnx-int8"]
    assert len(refused) == 2 and all(not r.available and r.reason == why and r.latency is None for r in refused)
    assert {r["variant"]: r["reason"] for r in ladder.to_dict()["rows"] if not r["available"]} == {"onnx-int8": why}
    available, reason = variants.availability("fp64")
    assert not available and reason == f"unknown variant 'fp64'; choose from {', '.join(variants.VARIANTS)}"


RESTARTED = """
import sys, torch
from pathlib import Path
from distilbert_demo import variants
from distilbert_demo.loading import load_model
model = load_model("sentiment", "bert", sys.argv[1], allow_twin=False)
inputs = torch.load(sys.argv[3])
variant = variants.build(model, "bf16-compiled", Path(sys.argv[2]))
torch.save({"logits": variant.forward(inputs), "kept": variant.kept}, sys.argv[4])
"""


def test_compiled_bf16_computes_what_eager_bf16_computes_and_a_restart_loads_it(
    tiny_store, tiny_models, tmp_path, monkeypatch
):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # not /tmp/torchinductor_<user>
    model = tiny_store.pair("sentiment").bert
    compiled, eager = variants.build(model, "bf16-compiled", tmp_path), variants.build(model, "bf16", tmp_path)
    inputs = named(model.tokenizer(PAIRS[0], padding=True, return_tensors="pt"))
    # bf16 rounds differently once inductor fuses operations: close, not equal
    assert (compiled.forward(inputs) - eager.forward(inputs)).abs().max() < 0.05
    assert not compiled.kept
    (package,) = compiled.files
    assert package.parent == variants.cache_folder(model, tmp_path) and variants.machine_key() in package.name
    assert compiled.size_bytes == package.stat().st_size
    # A restarted server (a fresh process, the same folder): the package is loaded, not compiled
    # again, and computes the same logits.
    written = package.stat().st_mtime_ns
    torch.save(inputs, tmp_path / "inputs.pt")
    run = [sys.executable, "-c", RESTARTED, tiny_models["sentiment-bert"], str(tmp_path), str(tmp_path / "inputs.pt")]
    subprocess.run([*run, str(tmp_path / "out.pt")], check=True, timeout=300, env=dict(os.environ))
    restarted = torch.load(tmp_path / "out.pt")
    assert restarted["kept"]
    assert package.stat().st_mtime_ns == written, "compiled again"
    assert torch.equal(restarted["logits"], compiled.forward(inputs))
    # On another CPU or torch the package is another file: this one is never loaded there.
    monkeypatch.setattr(variants, "machine_key", lambda: "another-machine")
    monkeypatch.setattr(torch._inductor, "aoti_compile_and_package", lambda *a, **k: pytest.fail("compiles anew"))
    with pytest.raises(pytest.fail.Exception, match="compiles anew"):
        variants.compiled_package(model, "bf16-compiled", tmp_path)


def test_the_bundle_loads_in_a_fresh_runtime_with_its_own_tokenizer(tiny_store, tmp_path, monkeypatch):
    model = tiny_store.pair("sentiment").distilbert
    target = tmp_path / "bundle.zip"
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # ONNX Runtime's quantiser must not leave files where the server runs
    size = core.onnx_bundle(model, tmp_path / "fresh-cache", target)
    assert list(workdir.iterdir()) == []
    assert size == target.stat().st_size
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(target).extractall(folder)
    assert {"model.onnx", "config.json", "tokenizer_config.json"} <= {p.name for p in folder.iterdir()}
    tokenizer = AutoTokenizer.from_pretrained(folder)
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs = named(tokenizer(PAIRS[0], padding=True, return_tensors="np"))
    got = session.run(None, inputs)[0]
    expected = variants.build(model, "onnx-int8", tmp_path / "fresh-cache").forward(
        {k: torch.from_numpy(v) for k, v in inputs.items()}
    )
    assert np.array_equal(got, expected.numpy())  # the very file the ladder measured


def _row(model, variant, ms, correct, total=100):
    return core.LadderRow(
        model, model, variant, True, latency=LatencyStats.from_samples([ms] * 5, 0), correct=correct, total=total
    )


def test_the_frontier_and_the_fastest_row_that_keeps_97_percent():
    rows = [
        _row("bert", "fp32", 100, 90),
        _row("bert", "int8", 50, 80),
        _row("distilbert", "fp32", 50, 89),
        _row("distilbert", "int8", 25, 88),
        _row("distilbert", "onnx-int8", 30, 70),
    ]
    ladder = core.Ladder("sentiment", rows, 128, "set", 100, "cpu", untrained=False)
    assert [(r.model, r.variant) for r in ladder.frontier()] == [
        ("distilbert", "int8"),
        ("distilbert", "fp32"),
        ("bert", "fp32"),
    ]
    assert (ladder.fastest_keeping(0.97).model, ladder.fastest_keeping(0.97).variant) == ("distilbert", "int8")
    assert ladder.fastest_keeping(0.999).variant == "fp32" and ladder.fastest_keeping(0.999).model == "bert"


def test_where_accuracy_cannot_judge_the_fastest_rung_within_the_fidelity_limit_is_the_verdict():
    from distilbert_demo.ladder import figures, views

    def row(model, variant, ms, median_diff):
        made = _row(model, variant, ms, 50)
        made.median_abs_diff_vs_fp32, made.logit_spread, made.size_mb = median_diff, 2.0, 100.0
        made.agreement_with_fp32 = 1.0
        return made

    rows = [
        row("bert", "fp32", 100, 0.0),
        row("distilbert", "fp32", 50, 0.0),
        row("distilbert", "int8", 20, 0.01),  # 0.5% of the spread
        row("distilbert", "onnx-int8", 10, 0.05),  # 2.5%: past the 1% limit
    ]
    for each in rows:
        each.speedup = 100 / each.latency.median_ms
    ladder = core.Ladder("sentiment", rows, 128, "set", 100, "cpu", untrained=True)
    assert ladder.judged_by == "fidelity" and ladder.fastest_faithful().variant == "int8"
    assert [(r.model, r.variant) for r in ladder.frontier()] == [
        ("distilbert", "onnx-int8"),
        ("distilbert", "int8"),
        ("distilbert", "fp32"),
    ]
    verdict = views.verdict(ladder).replace("\\", "")  # the Markdown escapes, as the page renders them
    assert "Fastest within 1% of its own fp32's logits: DistilBERT int8, 5.0x faster than BERT fp32" in verdict
    assert "median |Δlogit| 0.50% of the spread" in verdict and verdict.count("untrained") == 1
    table = views.table(ladder).set_index("Variant")
    assert table.loc["onnx-int8", "Speed-up vs BERT fp32"].startswith("10.00x ⚠ logits off fp32 by 2.5%")
    assert table.loc["int8", "Speed-up vs BERT fp32"] == "5.00x"
    chart = figures.pareto_figure(ladder, core.KEEP, core.FIDELITY_LIMIT)
    front = next(trace for trace in chart.data if trace.name == "Pareto front")
    labels = [note.text for note in chart.layout.annotations]  # the limit line's note, then the front's labels
    assert labels == ["1% of the spread", "DistilBERT onnx-int8 ⚠", "DistilBERT int8", "DistilBERT fp32"]
    assert list(front.y) == [0.025, 0.005, 0.0]
    points = {name: trace for trace in chart.data if (name := trace.name) in variants.VARIANTS}
    assert set(points) == {"fp32", "int8", "onnx-int8"} and list(points["fp32"].x) == [100, 50]
    assert chart.layout.yaxis.range[0] > chart.layout.yaxis.range[1]  # reversed: closer to fp32 is up
    ladder.untrained = False  # trained, but BERT fp32 at chance (50 of 100): still judged by fidelity
    assert ladder.judged_by == "fidelity" and "cannot be told from chance" in views.verdict(ladder)


def test_cli_ladder_json_has_one_row_per_model_and_variant(tiny_models, capsys):
    out = StringIO()
    with redirect_stdout(out):
        code = cli.main(
            [
                "ladder",
                "--task",
                "sentiment",
                "--bert",
                tiny_models["sentiment-bert"],
                "--distilbert",
                tiny_models["sentiment-distilbert"],
                "--variants",
                "int8",
                "onnx-fp32",
                "--seconds",
                "1",
                "--seq-len",
                "16",
                "--json",
            ]
        )
    assert code == 0
    data = json.loads(out.getvalue())
    rows = {(r["model"], r["variant"]): r for r in data["rows"]}
    assert set(rows) == {(m, v) for m in ("bert", "distilbert") for v in ("fp32", "int8", "onnx-fp32")}
    keys = {
        "model",
        "variant",
        "available",
        "reason",
        "latency_ms",
        "size_mb",
        "peak_memory_mb",
        "accuracy",
        "ci95",
        "agreement_with_fp32",
        "max_abs_diff_vs_fp32",
    }
    for row in rows.values():
        assert keys <= set(row) and set(row["latency_ms"]) == {"median", "p90", "n"}
    for model in ("bert", "distilbert"):
        assert rows[(model, "fp32")]["max_abs_diff_vs_fp32"] == 0.0
        assert rows[(model, "onnx-fp32")]["max_abs_diff_vs_fp32"] < variants.EXACT_TOLERANCE
        assert rows[(model, "onnx-fp32")]["peak_memory_mb"] is None  # outside PyTorch's profiler: not guessed


def test_bad_settings_are_refused_with_a_message(tiny_models, capsys):
    assert cli.main(["ladder", "--task", "sentiment", "--variants", "fp64"]) == 2
    assert "choose variants among" in capsys.readouterr().err
    assert cli.main(["ladder", "--task", "sentiment", "--seq-len", "4"]) == 2
    assert "between 8 and 512" in capsys.readouterr().err


def test_a_kept_variant_is_reused_and_never_handed_to_another_model(tiny_store, tmp_path):
    model = tiny_store.pair("sentiment").bert
    kept = variants.Kept()
    first = kept.get(model, "bf16", tmp_path)
    assert kept.get(model, "bf16", tmp_path) is first  # built once
    other = dataclasses.replace(model, model=copy.deepcopy(model.model))  # same name, another model object
    assert kept.get(other, "bf16", tmp_path) is not first


def test_every_variant_says_what_building_it_does():
    assert set(variants.BUILDING) == set(variants.VARIANTS)
