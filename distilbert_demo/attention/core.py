"""Attention maps: extraction from a loaded model, per-layer statistics, and student-teacher head alignment.

No plotting and no Gradio here: every function takes and returns arrays, dataclasses or DataFrames.
Attention comes from a separate eager forward pass (the default `sdpa` kernel never materialises
the attention matrix, so it returns none); the timed production path stays on `sdpa`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from .. import inputs, measure
from ..loading import LoadedModel
from ..palette import TITLES

CLS_TOKEN, SEP_TOKEN = "[CLS]", "[SEP]"
_CHUNK_ELEMENTS = 2**20  # 4 MiB of float32 per temporary in head_divergence: fits in cache


@dataclass
class AttentionMaps:
    """One model's attention for one text."""

    name: str  # shown in plots and the CSV ("BERT", "DistilBERT")
    tokens: list[str]
    attentions: np.ndarray  # (L, H, T, T) float32, rows = query, cols = key
    notices: list[str] = field(default_factory=list)  # e.g. truncation, from inputs.prepare
    cls_token: str = CLS_TOKEN
    sep_token: str = SEP_TOKEN

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]

    def special_mask(self) -> np.ndarray:
        """True at [CLS] / [SEP] positions."""
        return np.array([t in (self.cls_token, self.sep_token) for t in self.tokens], dtype=bool)  # (T,)


# ---------------------------------------------------------------------------------------------
# Extraction


def _prepare(loaded: LoadedModel, text: str, task: str) -> inputs.PreparedInput:
    """Tokenise like the comparison does (the same tokens, checks and 512-token truncation), but
    without requiring a [MASK]."""
    return inputs.prepare(text, task, loaded.tokenizer, loaded.device, require_mask=False)


def extract(loaded: LoadedModel, text: str, task: str = "fill-mask") -> AttentionMaps:
    """One eager forward pass with output_attentions; the model's attention implementation is restored after."""
    prepared = _prepare(loaded, text, task)
    model = loaded.model
    # The models are shared between requests and switching to eager mutates their config, so
    # extractions run one at a time, and like all model work never while something is timed.
    with measure.MACHINE:
        previous = model.config._attn_implementation
        try:
            if previous != "eager":
                model.set_attn_implementation("eager")
            with torch.inference_mode():
                out = model(**prepared.model_inputs(), output_attentions=True)
        finally:
            if model.config._attn_implementation != previous:
                model.set_attn_implementation(previous)
    if not out.attentions:  # sdpa / flash kernels silently return an empty tuple
        raise RuntimeError(f"{loaded.name} returned no attention weights (implementation {previous!r})")
    attentions = torch.stack(out.attentions)[:, 0]  # (L, H, T, T)
    tokenizer = loaded.tokenizer
    return AttentionMaps(
        name=TITLES.get(loaded.side, loaded.side),
        tokens=tokenizer.convert_ids_to_tokens(prepared.input_ids[0].tolist()),
        attentions=attentions.float().cpu().numpy(),
        notices=list(prepared.notices),
        cls_token=tokenizer.cls_token or CLS_TOKEN,
        sep_token=tokenizer.sep_token or SEP_TOKEN,
    )


# ---------------------------------------------------------------------------------------------
# Per-layer statistics


def _diagonal_mean(a: np.ndarray, offset: int) -> np.ndarray:
    """Mean over heads and queries of a[..., i, i + offset], for the queries that have that key."""
    diagonal = np.diagonal(a, offset=offset, axis1=-2, axis2=-1)  # (L, H, T - |offset|)
    if diagonal.shape[-1] == 0:
        return np.full(a.shape[0], np.nan)
    return diagonal.mean(axis=(1, 2))  # (L,)


def summarise(maps: AttentionMaps) -> pd.DataFrame:
    """One row per layer (counted from 0): where attention goes, on average over heads and query tokens.

    entropy is in bits (0 = all on one token, log2(T) = uniform); to_cls / to_sep / to_self /
    to_prev / to_next are mean shares of a query's attention; mean_distance is the mean of
    sum_j a_ij * |i - j| in tokens. Meant for full maps whose rows sum to 1.
    """
    a = maps.attentions.astype(np.float64)  # (L, H, T, T)
    T = a.shape[-1]
    tokens = np.array(maps.tokens, dtype=object)
    entropy = -(a * np.log2(np.where(a > 0, a, 1.0))).sum(-1)  # (L, H, T); 0 log 0 = 0
    positions = np.arange(T)
    distance = np.abs(positions[:, None] - positions[None, :])  # (T, T)
    return pd.DataFrame(
        {
            "layer": np.arange(maps.layers),
            "entropy": entropy.mean(axis=(1, 2)),
            "to_cls": a[..., tokens == maps.cls_token].sum(-1).mean(axis=(1, 2)),
            "to_sep": a[..., tokens == maps.sep_token].sum(-1).mean(axis=(1, 2)),
            "to_self": _diagonal_mean(a, 0),
            "to_prev": _diagonal_mean(a, -1),
            "to_next": _diagonal_mean(a, 1),
            "mean_distance": (a * distance).sum(-1).mean(axis=(1, 2)),
        }
    )


def summaries_frame(bert: AttentionMaps, distilbert: AttentionMaps) -> pd.DataFrame:
    """Both models' per-layer statistics stacked, with a `model` column (one plot, one CSV)."""
    frames = [summarise(maps).assign(model=maps.name) for maps in (bert, distilbert)]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["model", *[c for c in frame.columns if c != "model"]]]


# ---------------------------------------------------------------------------------------------
# Which teacher layer each student layer is compared with


# ---------------------------------------------------------------------------------------------
# Head-to-head comparison


def _entropy_bits(p: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(p, p).sum(-1) / math.log(2)  # 0 log 0 = 0


def head_divergence(student_maps: AttentionMaps, teacher_maps: AttentionMaps) -> np.ndarray:
    """Jensen-Shannon divergence (bits) between every student head and every teacher head.

    Returns (Ls, Hs, Lt, Ht): for each pair, the JS divergence of the two heads' attention
    distributions, averaged over query rows. Uses JS(p, q) = H(m) - (H(p) + H(q)) / 2 with
    m = (p + q) / 2, so only the mixture's entropy is computed per pair, and
    H(m) = -sum(r log r) / 2 + log(2) * sum(r) / 2 with r = p + q (one log per element).
    """
    if student_maps.tokens != teacher_maps.tokens:
        raise ValueError("attention maps must cover the same tokens to be compared")
    Ls, Hs, T, _ = student_maps.attentions.shape
    Lt, Ht = teacher_maps.attentions.shape[:2]
    Ns, Nt = Ls * Hs, Lt * Ht
    s = torch.from_numpy(np.ascontiguousarray(student_maps.attentions, dtype=np.float32)).reshape(Ns, T, T)
    t = torch.from_numpy(np.ascontiguousarray(teacher_maps.attentions, dtype=np.float32)).reshape(Nt, T, T)
    h_s, h_t = _entropy_bits(s), _entropy_bits(t)  # (Ns, T), (Nt, T)
    mass_s, mass_t = s.sum(-1), t.sum(-1)  # (Ns, T), (Nt, T): 1 for softmax rows; kept exact for cut maps

    # Chunks of teacher heads small enough to stay in cache: 7x faster at 512 tokens than one big batch.
    chunk = max(1, min(Nt, _CHUNK_ELEMENTS // (T * T)))
    r_buf, log_buf = torch.empty(chunk, T, T), torch.empty(chunk, T, T)
    r_log_r = torch.empty(Ns, Nt, T)  # sum_j r_ij log r_ij in nats, per pair and query row
    for i in range(Ns):
        for start in range(0, Nt, chunk):
            n = min(chunk, Nt - start)
            r = torch.add(s[i], t[start : start + n], out=r_buf[:n])  # (n, T, T)
            log_r = torch.clamp_min(r, 1e-30, out=log_buf[:n]).log_()  # clamp: 0 log 0 = 0, not nan
            r_log_r[i, start : start + n] = log_r.mul_(r).sum(-1)  # (n, T)
    mass = mass_s[:, None] + mass_t[None]  # (Ns, Nt, T)
    h_m = (-r_log_r + math.log(2) * mass) / (2 * math.log(2))  # (Ns, Nt, T) bits
    js = h_m - (h_s[:, None] + h_t[None]) / 2  # (Ns, Nt, T)
    return js.mean(-1).clamp_min_(0).reshape(Ls, Hs, Lt, Ht).numpy()  # rounding can dip a hair below 0


def best_matches(divergence: np.ndarray) -> pd.DataFrame:
    """For each student head, the teacher head whose attention it is closest to."""
    Ls, Hs, Lt, Ht = divergence.shape
    flat = divergence.reshape(Ls * Hs, Lt * Ht)  # (Ns, Nt)
    best = flat.argmin(axis=1)  # (Ns,)
    return pd.DataFrame(
        {
            "student_layer": np.repeat(np.arange(Ls), Hs),
            "student_head": np.tile(np.arange(Hs), Ls),
            "teacher_layer": best // Ht,
            "teacher_head": best % Ht,
            "js_divergence": flat[np.arange(Ls * Hs), best],
        }
    )


# ---------------------------------------------------------------------------------------------
# What to draw


def view_window(maps: AttentionMaps, max_tokens: int = 64) -> tuple[AttentionMaps, bool]:
    """The first max_tokens tokens (rows and columns cut, not renormalised) and whether anything was cut."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if len(maps.tokens) <= max_tokens:
        return maps, False
    cut = maps.attentions[:, :, :max_tokens, :max_tokens]  # (L, H, max_tokens, max_tokens)
    return replace(maps, tokens=maps.tokens[:max_tokens], attentions=np.ascontiguousarray(cut)), True


def hide_special(maps: AttentionMaps) -> AttentionMaps:
    """Drop [CLS] / [SEP] rows and columns, so the rest of the pattern is visible (rows no longer sum to 1)."""
    keep = ~maps.special_mask()  # (T,)
    kept = maps.attentions[:, :, keep][:, :, :, keep]  # (L, H, T', T')
    return replace(maps, tokens=[t for t, k in zip(maps.tokens, keep) if k], attentions=kept)
