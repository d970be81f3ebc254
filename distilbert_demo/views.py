"""Text the page shows (Markdown), built from results: pure functions, no Gradio.

Everything that may contain user-controlled or checkpoint-controlled text goes through
`esc`, so HTML in the input is shown as text and never rendered.
"""

from __future__ import annotations

import html

from .compare import Comparison, ModelReport
from .loading import HOW_TO_GET_REAL_WEIGHTS, LoadedModel, Pair
from .measure import MEMORY_METHOD

SOURCE_WORDS = {"hub": "Hugging Face hub", "local": "local folder", "twin": "untrained twin (random weights)"}


_MARKDOWN_SPECIALS = set("\\`*_{}[]#|~")


def esc(text: object) -> str:
    """Escape HTML, then the Markdown characters that could restyle or break a table row."""
    escaped = html.escape(str(text), quote=False)  # quotes are harmless in text, and stay readable
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in escaped)


def _model_line(model: LoadedModel) -> str:
    return f"{esc(model.name)} ({SOURCE_WORDS[model.source]}, {model.params / 1e6:.1f}M parameters)"


def banner(pairs: list[Pair], device: str, threads: int, loading: tuple[str, ...] = ()) -> str:
    lines = [f"**Device:** {esc(device)} · **threads:** {threads}"]
    for pair in pairs:
        lines.append(
            f"- **{esc(pair.task)}**: BERT = {_model_line(pair.bert)}; DistilBERT = {_model_line(pair.distilbert)}"
        )
    for task in loading:
        lines.append(f"- **{esc(task)}**: loading… (reload the page in a few seconds)")
    reasons = [model.note for pair in pairs for model in pair.sides() if model.note]
    if any(pair.uses_twins for pair in pairs):
        lines.append(
            "\n> ⚠️ **Untrained twins in use.** Models with the exact same architecture but **random weights** "
            "stand in for checkpoints that could not be loaded. Latency, memory and attention mechanics are real; "
            "**predictions are meaningless**. " + HOW_TO_GET_REAL_WEIGHTS
        )
    if reasons:
        lines.append(">\n> Why: " + "; ".join(esc(reason) for reason in dict.fromkeys(reasons)) + ".")
    return "\n".join(lines)


def metrics_table(report: ModelReport) -> str:
    lat = report.latency
    rows = [
        ("Checkpoint", esc(report.name)),
        ("Source", SOURCE_WORDS[report.source]),
        ("Parameters", f"{report.params:,}"),
        ("Layers", str(report.layers)),
        ("Weights", f"{report.weights_mb:.1f} MiB"),
        ("Latency median", f"{lat.median_ms:.1f} ms"),
        ("Latency p90", f"{lat.p90_ms:.1f} ms"),
        ("Timed runs", f"{lat.runs} (after {lat.warmup} warm-up)"),
        ("Peak extra memory", f"{report.peak_memory_mb:.2f} MiB"),
        ("Tokens", str(report.num_tokens)),
    ]
    return "| Metric | Value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def summary(result: Comparison) -> str:
    """The verdict line plus the between-the-two figures."""
    agree = result.agreement
    js = "n/a (vocabularies differ)" if agree.js_divergence is None else f"{agree.js_divergence:.4f} bits"
    top1 = "yes" if agree.top1_match else "no"
    if agree.positions > 1:
        top1 += f" ({agree.top1_matches} of {agree.positions} masks)"
    device_type = "cuda" if result.device.startswith("cuda") else "cpu"
    return (
        f"### {esc(result.verdict())}\n\n"
        f"| Speed-up | Size ratio | Top-1 match | Top-k overlap | Jensen-Shannon divergence |\n"
        f"|---|---|---|---|---|\n"
        f"| {result.speedup:.2f}x | {result.size_ratio:.2f} | {top1} | {agree.topk_overlap:.0%} | {js} |\n\n"
        f"<small>Latency: median and p90 of {result.bert.latency.runs} runs per model after "
        f"{result.bert.latency.warmup} warm-up, the two models interleaved, {result.threads} threads on "
        f"{esc(result.device)}, inference mode, no attention outputs. Memory: {MEMORY_METHOD[device_type]}.</small>"
    )


def notices(messages: list[str], error: bool = False) -> str:
    if not messages:
        return ""
    icon = "❌" if error else "ℹ️"
    return "\n".join(f"{icon} {esc(message)}" for message in messages)


def answer_in_context(context: str, answers: list) -> str:
    """The context with the best answer's span marked (escaped text around a <mark>)."""
    if not answers:
        return "*No answer span found.*"
    best = answers[0]

    def flat(text: str) -> str:  # one paragraph, so the quote stays one block
        return esc(" ".join(text.split("\n")))

    quote = flat(context[: best.start]) + "<mark>" + flat(context[best.start : best.end]) + "</mark>"
    quote += flat(context[best.end :])
    return f"**Answer:** {flat(best.text)} (score {best.score:.3f})\n\n> {quote}"
