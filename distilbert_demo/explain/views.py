"""The saliency text from an explanation: pure functions, no models, no Gradio."""

from __future__ import annotations

from ..markup import esc, percent
from ..palette import TITLES
from .core import METHODS, Explanation, Saliency


def completeness(row: Saliency) -> str:
    if row.delta is None:
        return "gradient x input: no completeness check"
    relative = row.relative_delta
    share = "" if relative is None else f" ({relative:.1%} of the {row.output - row.baseline_output:+.3g} attributed)"
    return f"convergence delta {row.delta:+.3g}{share}"


def summary(result: Explanation) -> str:
    """Per model: what was explained, its top tokens, and the completeness error next to it."""
    lines = [
        f"**{esc(METHODS[result.method])}**"
        + (f", {result.steps} steps" if result.method == "ig" else "")
        + f", on {esc(result.device)}; special tokens ([CLS], [SEP]) are shown and included."
    ]
    if result.untrained:
        lines.append(
            "⚠️ **Untrained twins**: these rows explain random weights; the tokens they pick mean nothing "
            "(the method and its completeness check are real)."
        )
    for row in result.rows:
        part = f" ({row.part})" if row.part else ""
        top = ", ".join(f"{esc(t)} {a:+.3g}" for t, a in row.top(3))
        lines.append(
            f"- **{TITLES[row.side]}{part}** → {esc(row.target)} ({percent(row.probability)}): "
            f"top tokens {top}; {completeness(row)}"
        )
    return "\n".join(lines)
