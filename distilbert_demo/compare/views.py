"""The Compare tab's text (Markdown) from a Comparison: pure functions, no Gradio."""

from __future__ import annotations

from ..markup import SOURCE_WORDS, caveat_line, esc, percent
from ..measure import MAX_RUNS, MEMORY_METHOD
from .core import Comparison, ModelReport


def metrics_table(report: ModelReport) -> str:
    lat = report.latency
    rows = [
        ("Checkpoint", esc(report.name)),
        ("Source", SOURCE_WORDS[report.source]),
        ("Parameters", f"{report.params:,}"),
        ("Layers", str(report.layers)),
        ("Weights", f"{report.weights_mb:.1f} MiB"),
        ("Latency median", f"{lat.median_ms:.1f} ms (N = {lat.runs})"),
        ("Latency p90", f"{lat.p90_ms:.1f} ms"),
        ("Timed runs", f"{lat.runs} (after {lat.warmup} warm-up)"),
        (
            "Peak extra memory",
            "n/a (outside PyTorch)" if report.peak_memory_mb is None else f"{report.peak_memory_mb:.2f} MiB",
        ),
        ("Tokens", str(report.num_tokens)),
    ]
    return "| Metric | Value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def summary(result: Comparison) -> str:
    """The verdict line, its caveats in one small line under it (said once: the table's speed-up
    carries only a ⚠ that points to them), then the between-the-two figures."""
    agree = result.agreement
    js = "n/a (vocabularies differ)" if agree.js_divergence is None else f"{agree.js_divergence:.4f} bits"
    top1 = "yes" if agree.top1_match else "no"
    if agree.positions > 1:
        top1 += f" ({agree.top1_matches} of {agree.positions} masks)"
    device_type = "cuda" if result.device.startswith("cuda") else "cpu"
    runs = result.bert.latency.runs
    how_many = (
        f"{runs} runs"
        if not result.budget_s
        else (f"{runs} runs per model (as many as fit in {result.budget_s:g} s, at most {MAX_RUNS})")
    )
    caveats = result.caveats()
    load = (
        ""
        if any("other processes" in c for c in caveats)
        else (f"; other processes used {result.outside_load:.0%} of the CPUs")
    )  # a busy machine is a caveat, said once above
    return (
        f"### {esc(result.verdict())}\n\n"
        + caveat_line(caveats)
        + f"| Speed-up (95% CI) | Size ratio | Top-1 match | Top-k overlap | Jensen-Shannon divergence |\n"
        f"|---|---|---|---|---|\n"
        f"| {esc(result.speedup_interval.text())} | {result.size_ratio:.2f} | {top1} | {agree.topk_overlap:.0%} "
        f"| {js} |\n\n"
        f"<small>Latency: median and p90 of {how_many} after {result.bert.latency.warmup} warm-up, the two "
        f"models interleaved, on {esc(result.measured_on)}, inference mode, no attention "
        f"outputs, no other model work of this app meanwhile{load}. Interval: bootstrap over the paired runs. "
        f"Memory: {MEMORY_METHOD[device_type]}.</small>"
    )


def answer_in_context(context: str, answers: list) -> str:
    """The context with the best answer's span marked (escaped text around a <mark>)."""
    if not answers:
        return "*No answer span found.*"
    best = answers[0]

    def flat(text: str) -> str:  # one paragraph, so the quote stays one block
        return esc(" ".join(text.split("\n")))

    quote = flat(context[: best.start]) + "<mark>" + flat(context[best.start : best.end]) + "</mark>"
    quote += flat(context[best.end :])
    return f"**Answer:** {flat(best.text)} (score {percent(best.score)})\n\n> {quote}"
