"""The Attention tab's state: one extraction per visitor, redrawn without re-running the models.

`analyse` runs both models once (the expensive part); everything else (choosing a layer or head,
hiding [CLS]/[SEP], a threshold, another layer map) only redraws from the kept arrays.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import attention, attention_plots
from .attention import AttentionMaps
from .loading import Pair

MAX_VIEW_TOKENS = 64  # drawn at most; the computation itself uses the whole input (up to 512)


@dataclass
class AttentionSession:
    task: str
    bert: AttentionMaps
    distilbert: AttentionMaps
    layer_map: list[int]  # BERT layer each DistilBERT layer is aligned with
    divergence: np.ndarray | None  # (Ls, Hs, Lt, Ht) JS bits; None when tokenizers differ
    summaries: pd.DataFrame
    notices: list[str] = field(default_factory=list)

    def sides(self) -> dict[str, AttentionMaps]:
        return {"bert": self.bert, "distilbert": self.distilbert}


def analyse(pair: Pair, text: str, layer_map_text: str | None = None) -> AttentionSession:
    """Extract both models' attention on `text` (eager pass) and everything derived from it."""
    bert = attention.extract(pair.bert, text, pair.task)
    distil = attention.extract(pair.distilbert, text, pair.task)
    layer_map = resolve_layer_map(layer_map_text, bert.layers, distil.layers)
    notices = list(dict.fromkeys(bert.notices + distil.notices))
    divergence = None
    if bert.tokens == distil.tokens:
        divergence = attention.head_divergence(distil, bert)
    else:
        notices.append("The two tokenizers split this text differently, so heads cannot be compared one to one.")
    if len(bert.tokens) > MAX_VIEW_TOKENS:
        notices.append(
            f"The text is {len(bert.tokens)} tokens; the maps show the first {MAX_VIEW_TOKENS}. "
            "Statistics and head matching use all of them."
        )
    return AttentionSession(
        task=pair.task,
        bert=bert,
        distilbert=distil,
        layer_map=layer_map,
        divergence=divergence,
        summaries=attention.summaries_frame(bert, distil),
        notices=notices,
    )


def resolve_layer_map(text: str | None, teacher_layers: int, student_layers: int) -> list[int]:
    if text is None or not str(text).strip():
        return attention.default_layer_map(teacher_layers, student_layers)
    return attention.parse_layer_map(text, teacher_layers, student_layers)


def with_layer_map(session: AttentionSession, layer_map_text: str) -> AttentionSession:
    """The same extraction aligned with another layer map (nothing re-runs)."""
    layer_map = resolve_layer_map(layer_map_text, session.bert.layers, session.distilbert.layers)
    return AttentionSession(**{**session.__dict__, "layer_map": layer_map})


def _shown(maps: AttentionMaps, hide_special: bool) -> AttentionMaps:
    window, _ = attention.view_window(maps, MAX_VIEW_TOKENS)
    return attention.hide_special(window) if hide_special else window


def clamp(value: float | None, upper: int) -> int:
    """A slider value made a valid index (sliders send floats, and None before first use)."""
    return int(min(max(int(value or 0), 0), upper - 1))


def head_figures(
    session: AttentionSession,
    bert_layer: int,
    bert_head: int,
    distil_layer: int,
    distil_head: int,
    hide_special: bool = False,
    threshold: float = 0.0,
):
    """The two selected heads side by side (plotly figures)."""
    picks = {"bert": (bert_layer, bert_head), "distilbert": (distil_layer, distil_head)}
    figures = []
    for side, maps in session.sides().items():
        layer, head = clamp(picks[side][0], maps.layers), clamp(picks[side][1], maps.heads)
        figures.append(attention_plots.head_heatmap(_shown(maps, hide_special), layer, head, side, threshold))
    return figures


def model_views(session: AttentionSession, bert_pick: tuple[int, int], distil_pick: tuple[int, int]):
    """Every head of each model as an image grid, the selected head framed."""
    return [
        attention_plots.model_view(_shown(maps, False), side, pick)
        for (side, maps), pick in zip(session.sides().items(), (bert_pick, distil_pick))
    ]


def alignment_markdown(session: AttentionSession, distil_layer: int) -> str:
    """Which BERT layer this DistilBERT layer came from, and its heads' best matches."""
    layer = clamp(distil_layer, session.distilbert.layers)
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


def best_matches(session: AttentionSession) -> pd.DataFrame:
    """Best BERT match of every DistilBERT head, with the divergence to its aligned head too."""
    if session.divergence is None:
        return pd.DataFrame()
    frame = attention.best_matches(session.divergence)
    aligned = [
        session.divergence[row.student_layer, row.student_head, session.layer_map[row.student_layer], row.student_head]
        for row in frame.itertuples()
    ]
    frame = frame.assign(aligned_js=aligned)
    frame.columns = [
        "DistilBERT layer",
        "DistilBERT head",
        "BERT layer",
        "BERT head",
        "JS (bits)",
        "JS to aligned head",
    ]
    return frame.round(4)


def summaries_csv(session: AttentionSession) -> bytes:
    buffer = io.StringIO()
    session.summaries.to_csv(buffer, index=False, float_format="%.6f")
    return buffer.getvalue().encode("utf-8")


def to_json(session: AttentionSession) -> dict:
    """What the CLI's --json and the API return: per model, tokens, shape, layer map, summaries."""
    models = {}
    for side, maps in session.sides().items():
        rows = session.summaries[session.summaries["model"] == maps.name].drop(columns="model")
        models[side] = {
            "tokens": maps.tokens,
            "layers": maps.layers,
            "heads": maps.heads,
            "layer_map": session.layer_map if side == "distilbert" else list(range(maps.layers)),
            "summaries": rows.round(6).to_dict(orient="records"),
        }
    best = best_matches(session)
    return {
        "task": session.task,
        "models": models,
        "layer_map": session.layer_map,
        "best_matches": best.to_dict(orient="records"),
        "notices": session.notices,
    }
