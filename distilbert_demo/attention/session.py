"""The Attention tab's state: one extraction per visitor, redrawn without re-running the models.

`analyse` runs both models once (the expensive part); everything else (choosing a layer or head,
hiding [CLS]/[SEP], a threshold, another layer map) only redraws from the kept arrays (the
drawing is attention/figures.py; this module only computes).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..layer_map import default_layer_map, parse_layer_map
from ..loading import Pair
from . import core as attention
from .core import AttentionMaps

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
    untrained: bool = False  # a side is an untrained twin: its heads are random

    def sides(self) -> dict[str, AttentionMaps]:
        return {"bert": self.bert, "distilbert": self.distilbert}

    def shown(self, side: str, hide_special: bool = False) -> AttentionMaps:
        """What the views draw of one side: the first MAX_VIEW_TOKENS tokens, [CLS]/[SEP] hidden on request."""
        window, _ = attention.view_window(self.sides()[side], MAX_VIEW_TOKENS)
        return attention.hide_special(window) if hide_special else window

    def pick(self, side: str, layer: float | None, head: float | None) -> tuple[int, int]:
        """A (layer, head) from sliders or clicks, made valid for that side."""
        maps = self.sides()[side]
        return clamp(layer, maps.layers), clamp(head, maps.heads)


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
        untrained=pair.uses_twins,
    )


def compact(state: AttentionSession) -> AttentionSession:
    """The same session with its attention arrays in float16, for keeping per visitor: half the
    memory (108 MiB instead of 216 MiB for the bert-base pair at 512 tokens), and the maps are only drawn
    from then on (the statistics and head matching were computed in float32 by `analyse`)."""
    halved = {
        side: replace(maps, attentions=maps.attentions.astype(np.float16)) for side, maps in state.sides().items()
    }
    return replace(state, **halved)


def resolve_layer_map(text: str | None, teacher_layers: int, student_layers: int) -> list[int]:
    if text is None or not str(text).strip():
        return default_layer_map(teacher_layers, student_layers)
    return parse_layer_map(text, teacher_layers, student_layers)


def with_layer_map(session: AttentionSession, layer_map_text: str) -> AttentionSession:
    """The same extraction aligned with another layer map (nothing re-runs)."""
    layer_map = resolve_layer_map(layer_map_text, session.bert.layers, session.distilbert.layers)
    return AttentionSession(**{**session.__dict__, "layer_map": layer_map})


def clamp(value: float | None, upper: int) -> int:
    """A slider value made a valid index (sliders send floats, and None before first use)."""
    return int(min(max(int(value or 0), 0), upper - 1))


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
