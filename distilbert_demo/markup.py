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


def caveat_line(caveats: list[str]) -> str:
    """A headline's caveats as one line right under it, in italics: small enough to keep the
    figures on a projector's screen, and shown in presenter mode (which hides the <small> fine print)."""
    return f"*{esc('; '.join(caveats))}*\n\n" if caveats else ""


def percent(score: float) -> str:
    """A probability as a percentage, three significant digits: an untrained model's 0.0003 must
    not print as "0.0%". Charts and text use this one format, so their numbers agree."""
    return f"{score * 100:.3g}%"


def count(n: int) -> str:
    """A parameter count a reader takes in at a glance: 109.5M, 812.3K, 950."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _model_line(model: LoadedModel) -> str:
    return f"{esc(model.name)} ({SOURCE_WORDS[model.source]}, {count(model.params)} parameters)"


def _why(pairs: list[Pair]) -> list[str]:
    """Why twins stand in, each reason once with the checkpoints it hit (not one sentence per checkpoint)."""
    hit: dict[str, list[str]] = {}
    for model in (m for pair in pairs for m in pair.sides() if m.note):
        reason = model.note
        if model.tried:  # "<name> is not in the local cache and ...", "could not load <name>: ..."
            reason = reason.removeprefix(f"could not load {model.tried}: ").removeprefix(f"{model.tried} is ")
        hit.setdefault(reason, []).append(model.tried or model.name)
    return [f"{', '.join(esc(n) for n in dict.fromkeys(names))}: {esc(reason)}" for reason, names in hit.items()]


def banner(
    pairs: list[Pair], device: str, threads: int, loading: tuple[str, ...] = (), failed: dict[str, str] | None = None
) -> str:
    lines = [f"**Device:** {esc(device)} · **threads:** {threads}"]
    lines += [
        f"- **{esc(pair.task)}**: BERT = {_model_line(pair.bert)}; DistilBERT = {_model_line(pair.distilbert)}"
        for pair in pairs
    ]
    lines += [f"- **{esc(task)}**: loading… (this line updates itself)" for task in loading]
    lines += [f"- **{esc(task)}**: ❌ could not be loaded: {esc(why)}" for task, why in (failed or {}).items()]
    reasons = _why(pairs)
    if any(pair.uses_twins for pair in pairs):
        lines.append(
            "\n> ⚠️ **Untrained twins in use.** Models with the exact same architecture but **random weights** "
            "stand in for checkpoints that could not be loaded. Latency, memory and attention mechanics are real; "
            "**predictions are meaningless**. " + HOW_TO_GET_REAL_WEIGHTS
        )
    if reasons:
        lines.append(">\n> Why: " + "; ".join(reasons) + ".")
    return "\n".join(lines)


def loading_line(ready: tuple[str, ...], loading: tuple[str, ...], failed: dict[str, str] | None = None) -> str:
    """Presenter mode's one line in place of the banner: which pairs are still loading (and which
    could not be), "" once every pair is ready."""
    parts = []
    if loading:
        parts.append(f"**Loading the models:** BERT and DistilBERT for {', '.join(esc(t) for t in loading)}…")
        parts += [f"ready: {', '.join(esc(t) for t in ready)}"] if ready else []
    parts += [f"**{esc(task)} could not be loaded**" for task in failed or {}]
    return " · ".join(parts)


def notices(messages: list[str], error: bool = False) -> str:
    if not messages:
        return ""
    icon = "❌" if error else "ℹ️"
    return "\n".join(f"{icon} {esc(message)}" for message in messages)


_STATUS_ICONS = {"pass": "✅", "fail": "❌", "skip": "⏭️", "info": "ℹ️"}


def self_check(report) -> str:
    """The doctor's report (doctor.Report) as a table; a failed check shows expected and got."""
    rows = []
    for check in report.checks:
        detail = esc(check.detail)
        if check.status == "fail":
            detail += f"<br>expected `{esc(check.expected)}`<br>got `{esc(check.got)}`"
        rows.append(f"| {_STATUS_ICONS[check.status]} | {esc(check.name)} | {detail} |")
    return f"**{report.summary()}**\n\n| | Check | Result |\n|---|---|---|\n" + "\n".join(rows)


def phones_link(url: str) -> str:
    """The static page's address as a QR code (segno draws it) and as text: presenter mode's way from
    the talk to the audience's phones. A small code until the speaker opens it full size."""
    import segno

    code = segno.make(url, error="m")
    small = code.svg_data_uri(scale=2, border=1)
    large = code.svg_data_uri(scale=10, border=2)
    return (
        '<details id="phones"><summary title="The page on your phone: open the QR code">'
        f'<img src="{small}" alt="The page on your phone" class="phones-small"></summary>'
        f'<div class="phones-panel"><img src="{large}" alt="QR code of {esc(url)}">'
        f"<p>{esc(url)}</p><p>Both models run and are timed on your own device.</p></div></details>"
    )
