"""Every headline true (issue: figures a careful reader would catch): one test per item, each of
which failed before its fix."""

import dataclasses
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from distilbert_demo import markup, measure
from distilbert_demo.attention import figures as attention_figures
from distilbert_demo.attention.tab import attention_handlers
from distilbert_demo.bench import core as bench
from distilbert_demo.bench import figures as bench_figures
from distilbert_demo.compare import core as compare
from distilbert_demo.compare import figures as compare_figures
from distilbert_demo.compare import views as compare_views
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.evaluate import views as evaluate_views
from distilbert_demo.evaluate.core import Evaluation, ModelEvaluation
from distilbert_demo.kept import KEPT
from distilbert_demo.labelled import LabelledSet
from distilbert_demo.predict import TaskOutput
from distilbert_demo.qa import Answer

# 1. The QA chart: one bar per span, told apart, with the answer list's numbers.


def test_qa_chart_keeps_spans_with_the_same_text_apart():
    context = "Maria wrote it. Maria Lopez, not Maria, signed it."
    answers = [Answer("Maria", 0, 5, 0.40), Answer("Maria", 33, 38, 0.25), Answer("Maria Lopez", 16, 27, 0.004)]
    assert all(context[a.start : a.end] == a.text for a in answers)
    output = TaskOutput(predictions=answers, distributions=torch.empty(0), support=[], task="qa")
    fig = compare_figures.predictions_figure(output, "bert")
    (bars,) = fig.data
    assert len(bars.y) == len(set(bars.y)) == 3  # three bars, three distinct labels
    assert list(bars.x) == [a.score for a in reversed(answers)]  # best at the top, the answers' own scores
    assert list(bars.text) == [markup.percent(a.score) for a in reversed(answers)]
    shown = compare_views.answer_in_context(context, answers)
    assert f"score {markup.percent(answers[0].score)}" in shown  # the same number as its bar


# 2. Attention: the text names the layers the figures draw, whatever the clicks.


class Click:
    def __init__(self, layer: int, head: int):
        x, y = attention_figures.cell_origin(layer, head)
        self.index = (x + 3, y + 3)


def shown_layers(fig_b, fig_d, text):
    """(BERT layer drawn, DistilBERT layer drawn, BERT layer the text names, DistilBERT layer it names)."""
    drawn_b = int(fig_b.layout.title.text.split("layer ")[1].split()[0])
    drawn_d = int(fig_d.layout.title.text.split("layer ")[1].split()[0])
    sentence = next(line for line in text.split("\n\n") if "is shown next to" in line)
    named_d = int(sentence.split("DistilBERT layer ")[1].split()[0])
    named_b = int(sentence.split("next to BERT layer ")[1].split()[0])
    return drawn_b, drawn_d, named_b, named_d


@pytest.mark.parametrize("seed", range(6))
def test_alignment_text_follows_any_sequence_of_clicks(tiny_store, seed):
    """Replays the page's wiring: a click on a model view sets that side's sliders; moving the
    DistilBERT layer moves BERT to its source layer and the DistilBERT head moves BERT's head."""
    analyse, redraw, follow_layer, select_head, _ = attention_handlers(tiny_store)
    key, *_ = analyse("fill-mask", "The cat sat on the mat.", "")  # the page holds a key to the kept state
    state = KEPT.get("local", key, again="Show attention")
    sliders = {"bert_layer": state.layer_map[0], "bert_head": 0, "distil_layer": 0, "distil_head": 0}
    rng = np.random.default_rng(seed)
    for _ in range(12):
        kind = rng.choice(["bert click", "distil click", "distil slider", "bert slider"])
        if kind == "bert click":
            picked = select_head("bert")(key, Click(rng.integers(4), rng.integers(4)))
            sliders["bert_layer"], sliders["bert_head"] = picked
        elif kind == "distil click":
            layer, head = select_head("distilbert")(key, Click(rng.integers(2), rng.integers(4)))
            sliders.update(distil_layer=layer, distil_head=head, bert_head=head)
            sliders["bert_layer"] = follow_layer(key, layer)
        elif kind == "distil slider":
            sliders["distil_layer"] = int(rng.integers(2))
            sliders["bert_layer"] = follow_layer(key, sliders["distil_layer"])
        else:
            sliders["bert_layer"] = int(rng.integers(4))
        fig_b, fig_d, *_, text = redraw(
            key,
            sliders["bert_layer"],
            sliders["bert_head"],
            sliders["distil_layer"],
            sliders["distil_head"],
            False,
            0.0,
        )
        drawn_b, drawn_d, named_b, named_d = shown_layers(fig_b, fig_d, text)
        assert (named_b, named_d) == (drawn_b, drawn_d) == (sliders["bert_layer"], sliders["distil_layer"]), kind


# 3. Headlines carry their caveat where they stand.


def test_compare_verdict_says_twins_give_random_predictions(tiny_store, twin_store):
    on_twins = compare.compare_pair(twin_store.pair("fill-mask"), "The [MASK] sat on the mat.", repeats=1)
    assert compare.RANDOM_WEIGHTS in on_twins.caveats()
    shown = compare_views.summary(on_twins)
    assert shown.count(markup.esc(compare.RANDOM_WEIGHTS)) == 1  # said once, under the verdict
    assert shown.index("###") < shown.index(markup.esc(compare.RANDOM_WEIGHTS)) < shown.index("| Speed-up")
    on_checkpoints = compare.compare_pair(tiny_store.pair("fill-mask"), "The [MASK] sat on the mat.", repeats=3)
    assert compare.RANDOM_WEIGHTS not in on_checkpoints.caveats()


def model_eval(correct: int, total: int, source: str, name: str) -> ModelEvaluation:
    labels = ["negative", "positive"] * (total // 2)
    predictions = [
        label if i < correct else ("positive" if label == "negative" else "negative") for i, label in enumerate(labels)
    ]
    return ModelEvaluation(name, predictions, [0.5] * total, 1.0, labels, source)


def evaluation(bert: ModelEvaluation, distil: ModelEvaluation) -> Evaluation:
    data = LabelledSet(["x"] * len(bert.labels), bert.labels, "set.csv")
    return Evaluation(data, bert, distil)


def test_evaluate_at_chance_says_so_and_retention_is_undefined():
    # 50% vs 50% on 248 examples with opposite answers: the seed's "keeps 100.0%" case
    result = evaluation(model_eval(124, 248, "twin", "b"), model_eval(124, 248, "twin", "d"))
    verdict = result.verdict()
    assert verdict.startswith(
        "Retention is undefined here: neither BERT's 50.0% nor DistilBERT's 50.0% can be told from chance (50% for 2"
    )
    assert verdict.count("chance") == 1 and "untrained twins" in verdict  # said once, for both models
    assert "keeps" not in verdict
    shown = evaluate_views.summary_table(result)
    assert shown.count("chance") == 1 and shown.index("###") < shown.index("untrained twins")
    assert result.to_dict()["retention_defined"] is False


def test_evaluate_says_distilberts_chance_level_where_only_distilbert_is_at_chance():
    result = evaluation(model_eval(230, 248, "hub", "b"), model_eval(130, 248, "hub", "d"))
    assert result.retention_defined and result.headline().startswith("DistilBERT keeps")
    said = f"DistilBERT's {130 / 248:.1%} cannot be told from chance (50% for 2 labels) on 248 examples"
    assert result.caveats() == [said]
    # BERT at chance, DistilBERT not: the headline names BERT's chance level, no caveat repeats it
    flipped = evaluation(model_eval(130, 248, "hub", "b"), model_eval(230, 248, "hub", "d"))
    assert flipped.headline().startswith(f"Retention is undefined here: BERT's {130 / 248:.1%} cannot be told")
    assert flipped.caveats() == [] and flipped.verdict().count("chance") == 1


def test_evaluate_on_trained_checkpoints_has_no_caveat():
    result = evaluation(model_eval(230, 248, "hub", "b"), model_eval(226, 248, "hub", "d"))
    assert result.caveats() == [] and result.retention_defined
    assert (
        result.verdict() == f"DistilBERT keeps {226 / 230:.1%} of BERT's accuracy ({226 / 248:.1%} vs "
        f"{230 / 248:.1%}) at 1.0x the speed"
    )


def test_attention_text_warns_about_twins(twin_store):
    key, _, text, *_ = attention_handlers(twin_store)[0]("fill-mask", "The cat sat.", "")
    assert KEPT.get("local", key, again="Show attention").untrained and "Untrained twins" in text


# 4. Ratios past the physical bound, with their uncertainty; every point on the axes.


def rows(slow_ms: float, fast_ms: float, seq_len: int = 128, batch: int = 1) -> list[bench.BenchRow]:
    rng = np.random.default_rng(seq_len)
    made = []
    for model, centre in (("bert", slow_ms), ("distilbert", fast_ms)):
        samples = list(centre * (1 + 0.02 * rng.standard_normal(20)))
        made.append(
            bench.BenchRow(
                model, seq_len, batch, "fp32", float(np.median(samples)), min(samples), max(samples), 1.0, 20, samples
            )
        )
    return made


def test_only_a_ratio_wholly_past_the_flops_bound_is_flagged_in_compares_words():
    # FLOPs ratios at 128 and 256 tokens: the bound is each times 1.1 (2.2x); 2.07x lies past the ratio
    # but within the implementations' overheads, 3.8x past both.
    expected = {128: 2.0, 256: 2.0}
    sweep = rows(100, 52, 128) + rows(207, 100, 256) + rows(380, 100, 256, batch=8)
    table = bench.speedups(sweep, expected)
    assert [r["past_bound"] for r in table] == [False, False, True]
    assert [(r["expected"], r["bound"]) for r in table] == [(2.0, 2.2)] * 3
    low, high = table[0]["ci95"]
    assert low < table[0]["speedup"] < high
    text = bench.reading(sweep, expected)
    assert "the FLOPs ratio at these lengths is 2.00x" in text and "halving" not in text
    assert (
        "At 256 tokens x batch 8 the speed-up is faster than the arithmetic allows (the FLOPs ratio at these "
        "token counts is 2.00x, 2.20x with the implementations' overheads): something else slowed BERT's runs."
    ) in text
    assert "rerun" not in text.lower() and "noise" not in text  # nothing tells a speaker to rerun
    quoted = f"across the sweep {table[0]['speedup']:.2f}x to {table[1]['speedup']:.2f}x"
    assert quoted in text  # the impossible point is not quoted as a speed-up
    fig = bench_figures.speedup_figure(sweep, expected)
    assert fig.layout.yaxis.range[1] >= max(r["ci95"][1] for r in table)  # no point cut off
    (flag,) = [a.text for a in fig.layout.annotations if a.text.startswith("×")]
    assert "faster than the arithmetic allows" in flag and "noise" not in flag and "rerun" not in flag
    (bound_line,) = [s for s in fig.layout.shapes if s.line.dash == "dash"]  # one bound at every length
    assert bound_line.y0 == pytest.approx(2.2)
    assert any(a.text == "arithmetic bound (FLOPs ratio + 10% overheads): 2.20x" for a in fig.layout.annotations)
    hover = [text for trace in fig.data for text in trace.text if text]
    assert hover == [f", {measure.Speedup(3.8, 3.7, 3.9, 2.0).warning()}"]  # the flagged point, in Compare's words
    speedup = measure.Speedup.of(
        measure.LatencyStats.from_samples([100.0] * 10, 2), measure.LatencyStats.from_samples([25.0] * 10, 2), 2.0
    )
    assert speedup.past_bound and "⚠" in speedup.text() and "arithmetic allows" in speedup.warning()


def test_a_bound_that_changes_with_the_length_is_drawn_as_a_line_through_each_length():
    expected = {8: 1.90, 128: 2.0}  # fill-mask: the head at the mask weighs more at 8 tokens
    fig = bench_figures.speedup_figure(rows(100, 52, 8) + rows(100, 52, 128), expected)
    (line,) = [t for t in fig.data if t.name == "arithmetic bound (FLOPs ratio + 10% overheads)"]
    assert list(line.x) == [8, 128] and list(line.y) == pytest.approx([1.90 * 1.1, 2.0 * 1.1])
    assert not [s for s in fig.layout.shapes if s.line.dash == "dash"]  # no single line as well


def test_one_batch_size_throughput_says_so():
    fig = bench_figures.throughput_figure(rows(100, 52), 128)
    assert not fig.data and "Only batch size 1 was measured" in fig.layout.annotations[0].text


def test_small_models_show_parameters_in_thousands(tiny_store):
    assert markup.count(109_514_298) == "109.5M" and markup.count(812_345) == "812.3K" and markup.count(950) == "950"
    text = markup.banner(tiny_store.loaded_pairs() or [tiny_store.pair("fill-mask")], "cpu", 2)
    assert "0.0M" not in text and "K parameters" in text


# 5. Advice that works, said once.


def test_the_why_paragraph_says_each_reason_once(tiny_store):
    pair = tiny_store.pair("fill-mask")
    reason = "is not in the local cache and HF_HUB_OFFLINE is set"
    twins = [
        dataclasses.replace(model, source="twin", tried=name, note=f"{name} {reason}")
        for model, name in zip(pair.sides(), ("a/bert", "b/distil"))
    ]
    text = markup.banner([type(pair)("fill-mask", *twins)], "cpu", 2)
    why = text.split("Why: ")[1]
    assert why.count("not in the local cache") == 1 and "a/bert, b/distil" in why
    assert "python app.py --bert DIR --distilbert DIR" in text


def test_app_takes_bert_and_distilbert_folders(tiny_models, tmp_path):
    """`python app.py --bert DIR --distilbert DIR`: the task is read from the checkpoints' heads."""
    import os
    import socket

    from gradio_client import Client

    from .test_cli import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bert, distil = tiny_models["sentiment-bert"], tiny_models["sentiment-distilbert"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "app.py", "--bert", bert, "--distilbert", distil, "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                assert time.monotonic() < deadline and server.poll() is None, "the app did not start"
                time.sleep(0.5)
        *_, raw = client.predict("sentiment", "Lovely.", 3, 1, api_name="/compare")
        assert raw["models"]["bert"]["name"] == bert and raw["models"]["distilbert"]["name"] == distil
    finally:
        server.terminate()
        server.wait(timeout=30)
    refused = subprocess.run(
        [sys.executable, "app.py", "--bert", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "could not read the config" in refused.stderr
    assert "Traceback" not in refused.stderr


# 6. A comparison answers at conversational speed: a time budget, N shown.


def test_default_compare_on_the_twins_times_within_its_budget(twin_store):
    outputs = compare_handler(twin_store)("fill-mask", "The [MASK] sat on the mat.", 5, 0)
    raw = outputs[-1]
    bert, distil = (raw["models"][side]["latency_ms"] for side in ("bert", "distilbert"))
    assert raw["budget_s"] == compare.DEFAULT_BUDGET_S and bert["runs"] == distil["runs"] >= measure.MIN_RUNS
    result = compare.compare_pair(twin_store.pair("fill-mask"), "The [MASK] sat on the mat.")
    samples = [*result.bert.latency.samples_ms, *result.distilbert.latency.samples_ms]
    one_round = max(result.bert.latency.samples_ms) + max(result.distilbert.latency.samples_ms)
    # it stops at the first round that crosses the budget, unless the minimum needs more
    if result.bert.latency.runs > measure.MIN_RUNS:
        assert sum(samples) <= compare.DEFAULT_BUDGET_S * 1000 + one_round
    assert f"(N = {result.bert.latency.runs})" in compare_views.metrics_table(result.bert)


# 7. Timed regions never overlap other model work of the app; outside load is reported.


def test_a_comparison_is_timed_with_the_distillation_paused(tiny_store, monkeypatch):
    from distilbert_demo.distill import core as distill_core
    from distilbert_demo.distill import recipe
    from distilbert_demo.distill.recipe import DistillConfig

    steps, timed = [], []
    original_step, original_time = recipe.Distiller._step, measure.time_interleaved

    def recorded_step(self, batch):
        started = time.perf_counter()
        try:
            return original_step(self, batch)
        finally:
            steps.append((started, time.perf_counter()))

    def recorded_timing(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original_time(*args, **kwargs)
        finally:
            timed.append((started, time.perf_counter()))

    monkeypatch.setattr(recipe.Distiller, "_step", recorded_step)
    monkeypatch.setattr(measure, "time_interleaved", recorded_timing)
    teacher = tiny_store.pair("fill-mask").bert
    distiller = distill_core.make_distiller(teacher, DistillConfig(steps=400, batch_size=4, seq_len=32))
    stop = threading.Event()
    runner = threading.Thread(target=lambda: [None for _ in distiller.run(stop)])
    runner.start()
    try:
        while len(steps) < 3:
            time.sleep(0.01)
        compare.compare_pair(tiny_store.pair("fill-mask"), "The [MASK] sat on the mat.", repeats=40)
        during = len(steps)
        while len(steps) < during + 2:  # the distillation carries on afterwards
            time.sleep(0.01)
    finally:
        stop.set()
        runner.join(timeout=60)
    ((start, end),) = timed
    overlapping = [s for s in steps if s[0] < end and s[1] > start]
    assert not overlapping, f"{len(overlapping)} distillation steps ran while the comparison was timed"
    assert any(s[1] <= start for s in steps) and any(s[0] >= end for s in steps)


def test_outside_load_is_measured_and_reported():
    spin = "import time\nend = time.time() + 3\nwhile time.time() < end: pass"
    busy = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.3)
        with measure.OutsideLoad() as load:
            time.sleep(1.0)
    finally:
        busy.kill()
        busy.wait()
    cores = measure.psutil.cpu_count()
    assert load.share >= 0.8 / cores  # one other process spinning: about one core's worth
    if 1 / cores > measure.OutsideLoad.BUSY:  # on a small machine that is enough to say so
        assert load.busy and "Other processes used" in load.note()
