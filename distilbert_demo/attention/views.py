"""The Attention tab's text (Markdown) from a session: pure functions, no Gradio."""

from __future__ import annotations

from .session import AttentionSession, best_matches

TWINS = (
    "⚠️ Untrained twins: these heads are random, and the DistilBERT twin was not initialised from the BERT "
    "twin, so the matches below say nothing about distillation."
)


def alignment_markdown(state: AttentionSession, distil_layer: float | None, bert_layer: float | None) -> str:
    """Which BERT layer the DistilBERT layer came from, which one is shown beside it (the same
    clamping as the figures, so the text always names the drawn layers), and the best matches."""
    layer, _ = state.pick("distilbert", distil_layer, 0)
    shown, _ = state.pick("bert", bert_layer, 0)
    source = state.layer_map[layer]
    beside = "its source" if shown == source else f"not its source, layer {source}: move a slider to re-align"
    # The finding first (a projector shows it above the maps), the caveat next, the map as fine print.
    finding = f"**DistilBERT layer {layer} is shown next to BERT layer {shown} ({beside}).**"
    if state.divergence is not None:
        matches = best_matches(state)
        matches = matches[matches["DistilBERT layer"] == layer]
        same = int(((matches["BERT layer"] == source) & (matches["BERT head"] == matches["DistilBERT head"])).sum())
        finding += (
            f" {same} of {len(matches)} of its heads are closest to the same-numbered head of BERT layer {source}."
        )
    layer_map = ", ".join(f"{i}→{t}" for i, t in enumerate(state.layer_map))
    lines = [
        finding,
        *([TWINS] if state.untrained else []),
        f"<small>Layer map (DistilBERT layer → BERT layer): {layer_map}</small>",
    ]
    return "\n\n".join(lines)
