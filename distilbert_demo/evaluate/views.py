"""The Evaluate tab's text (Markdown) from an evaluation: pure functions, no Gradio.

The reel's saliency line is explain's own (views to views: evaluate composes explain on purpose).
"""

from __future__ import annotations

from ..explain import views as explain_views
from ..explain.core import Explanation
from ..markup import caveat_line, esc
from ..palette import TITLES
from .core import Evaluation, ReelCase


def summary_table(result: Evaluation) -> str:
    rows = []
    for side, model in (("bert", result.bert), ("distilbert", result.distilbert)):
        low, high = model.ci95
        rows.append(
            f"| {TITLES[side]} | {esc(model.name)} | {model.accuracy:.1%} | {low:.1%} – {high:.1%} | "
            f"{model.seconds:.2f} s | {model.examples_per_second:.1f} |"
        )
    return (
        f"### {esc(result.headline())}\n\n{caveat_line(result.caveats())}"
        "| | Checkpoint | Accuracy | 95% CI (Wilson) | Time | Examples / s |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n**Retention** (DistilBERT / BERT accuracy): "
        + (f"{result.retention:.1%}" if result.retention_defined else "undefined (see above)")
        + " · "
        f"**agreement** between the two: {result.agreement:.1%} · {len(result.data)} examples "
        f"from {esc(result.data.name)}. <small>Time: the models' forward passes, in batches of "
        f"similar length, the two models alternating batch by batch, on {esc(result.measured_on)}.</small>"
    )


UNTRAINED_REEL = "Untrained twins (random weights): these answers and the tokens behind them mean nothing"


def reel_position(case: ReelCase, position: int, total: int) -> str:
    """Where a case stands in the reel (the line between its Previous and Next buttons)."""
    return (
        f"**Disagreement {position + 1} of {total}** · example {case.index + 1} · "
        "the wrong model's most confident first"
    )


def reel_case(case: ReelCase, untrained: bool = False) -> str:
    """One disagreement: the text, the truth, both predictions with their probabilities (and, on
    twins, that they mean nothing). What explained them is reel_explained's."""
    marks = {side: "✗ wrong" if case.wrong == side else "✓ right" for side in ("bert", "distilbert")}
    return (
        f"> {esc(case.text)}\n\n"
        f"| | prediction | probability | |\n|---|---|---|---|\n"
        f"| truth | {esc(case.label)} | | |\n"
        f"| {TITLES['bert']} | {esc(case.bert)} | {case.bert_probability:.1%} | {marks['bert']} |\n"
        f"| {TITLES['distilbert']} | {esc(case.distilbert)} | {case.distilbert_probability:.1%} | "
        f"{marks['distilbert']} |\n\n" + caveat_line([UNTRAINED_REEL] if untrained else [])
    ).strip()


def reel_explained(saliency: Explanation) -> str:
    """What explained a reel case's two answers: explain's own summary (method, top tokens, completeness)."""
    return explain_views.summary(saliency)
