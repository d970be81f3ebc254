"""The Attention tab's text (Markdown) from a session: pure functions, no Gradio."""

from __future__ import annotations

from .session import AttentionSession, best_matches


def alignment_markdown(session: AttentionSession, distil_layer: int) -> str:
    """Which BERT layer this DistilBERT layer came from, and its heads' best matches."""
    layer, _ = session.pick("distilbert", distil_layer, 0)
    source = session.layer_map[layer]
    lines = [
        "**Layer map** (DistilBERT layer → BERT layer): "
        + ", ".join(f"{i}→{t}" for i, t in enumerate(session.layer_map)),
        f"DistilBERT layer {layer} is shown next to BERT layer {source}.",
    ]
    if session.divergence is None:
        return "\n\n".join(lines)
    matches = best_matches(session)
    matches = matches[matches["DistilBERT layer"] == layer]
    same = int(((matches["BERT layer"] == source) & (matches["BERT head"] == matches["DistilBERT head"])).sum())
    lines.append(
        f"{same} of {len(matches)} heads of this layer are closest to the same-numbered head of BERT layer {source}."
    )
    return "\n\n".join(lines)
