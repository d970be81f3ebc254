"""Markup every tab shares (Markdown): escaping, notices, the banner. Pure functions, no Gradio.

Everything that may contain user-controlled or checkpoint-controlled text goes through
`esc`, so HTML in the input is shown as text and never rendered.
"""

from __future__ import annotations

import html

from .loading import HOW_TO_GET_REAL_WEIGHTS, LoadedModel, Pair

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
    lines += [
        f"- **{esc(pair.task)}**: BERT = {_model_line(pair.bert)}; DistilBERT = {_model_line(pair.distilbert)}"
        for pair in pairs
    ]
    lines += [f"- **{esc(task)}**: loading… (reload the page in a few seconds)" for task in loading]
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


def notices(messages: list[str], error: bool = False) -> str:
    if not messages:
        return ""
    icon = "❌" if error else "ℹ️"
    return "\n".join(f"{icon} {esc(message)}" for message in messages)
