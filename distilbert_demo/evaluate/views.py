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


def reel_case(case: ReelCase, position: int, total: int) -> str:
    """One disagreement: where it stands in the reel, the text, the truth, both predictions with
    their probabilities. What explained them is reel_explained's (under the saliency rows)."""
    marks = {side: "✗ wrong" if case.wrong == side else "✓ right" for side in ("bert", "distilbert")}
    return (
        f"**Disagreement {position + 1} of {total}** (the wrong model's most confident first) · "
        f"example {case.index + 1} of the set\n\n> {esc(case.text)}\n\n"
        f"| | prediction | probability | |\n|---|---|---|---|\n"
        f"| truth | {esc(case.label)} | | |\n"
        f"| {TITLES['bert']} | {esc(case.bert)} | {case.bert_probability:.1%} | {marks['bert']} |\n"
        f"| {TITLES['distilbert']} | {esc(case.distilbert)} | {case.distilbert_probability:.1%} | "
        f"{marks['distilbert']} |"
    )


def reel_explained(saliency: Explanation) -> str:
    """What explained a reel case's two answers: explain's own summary (method, top tokens, completeness)."""
    return explain_views.summary(saliency)
