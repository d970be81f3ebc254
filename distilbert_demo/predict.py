"""Task inference: fill-mask and sentiment, returning plain dataclasses.

Fill-mask runs the encoder on the whole text but the vocabulary projection (the largest matrix
in the model: hidden x 30,522) only at the [MASK] positions, the way nanoGPT runs its LM head
on the last position only at inference. Same answer as `transformers.pipeline`, less work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .inputs import PreparedInput
from .loading import LoadedModel


@dataclass
class Candidate:
    token: str
    token_id: int
    score: float


@dataclass
class LabelScore:
    label: str
    score: float


@dataclass
class TaskOutput:
    """What one model predicted for one text."""

    # fill-mask: one list of top-k candidates per mask; sentiment: labels sorted by score
    predictions: list[list[Candidate]] | list[LabelScore]
    # full probability distributions, one row per mask (fill-mask) or one row (sentiment);
    # rows are indexed by token id / normalised-label order and feed the agreement metrics
    distributions: torch.Tensor  # (n_masks or 1, vocab or labels)
    support: list[str]  # what each distribution column stands for (labels), empty for vocab


def _bert_mlm_logits(model, inputs: dict, positions: list[int]) -> torch.Tensor:
    hidden = model.bert(**inputs).last_hidden_state  # (1, T, H)
    return model.cls(hidden[0, positions])  # (M, V)


def _distilbert_mlm_logits(model, inputs: dict, positions: list[int]) -> torch.Tensor:
    hidden = model.distilbert(**inputs).last_hidden_state  # (1, T, H)
    x = model.vocab_transform(hidden[0, positions])  # (M, H)
    x = model.vocab_layer_norm(model.activation(x))
    return model.vocab_projector(x)  # (M, V)


_MASKED_HEADS: dict[str, Callable] = {"bert": _bert_mlm_logits, "distilbert": _distilbert_mlm_logits}


def mask_logits(model, prepared: PreparedInput) -> torch.Tensor:
    """Logits at the mask positions only, shape (M, V)."""
    inputs = prepared.model_inputs()
    head = _MASKED_HEADS.get(model.config.model_type)
    if head is None:  # other architectures: the full forward pass, then pick the positions
        return model(**inputs).logits[0, prepared.mask_positions]
    return head(model, inputs, prepared.mask_positions)


def class_logits(model, prepared: PreparedInput) -> torch.Tensor:
    return model(**prepared.model_inputs()).logits[0]  # (C,)


def production_forward(loaded: LoadedModel, prepared: PreparedInput) -> Callable[[], torch.Tensor]:
    """The exact computation a request runs, as a zero-argument callable (for timing)."""
    compute = mask_logits if loaded.task == "fill-mask" else class_logits
    return lambda: compute(loaded.model, prepared)


@torch.inference_mode()
def fill_mask(loaded: LoadedModel, prepared: PreparedInput, top_k: int) -> TaskOutput:
    probs = mask_logits(loaded.model, prepared).float().softmax(dim=-1)  # (M, V)
    scores, ids = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    predictions = [
        [
            Candidate(token=loaded.tokenizer.decode([tid]), token_id=tid, score=score)
            for score, tid in zip(row_scores.tolist(), row_ids.tolist())
        ]
        for row_scores, row_ids in zip(scores, ids)
    ]
    return TaskOutput(predictions=predictions, distributions=probs.cpu(), support=[])


@torch.inference_mode()
def sentiment(loaded: LoadedModel, prepared: PreparedInput) -> TaskOutput:
    probs = class_logits(loaded.model, prepared).float().softmax(dim=-1).cpu()  # (C,)
    # Columns in alphabetical label order so both models' rows line up.
    order = sorted(range(len(loaded.labels)), key=lambda i: loaded.labels[i])
    ranked = sorted(zip(loaded.labels, probs.tolist()), key=lambda pair: -pair[1])
    return TaskOutput(
        predictions=[LabelScore(label, score) for label, score in ranked],
        distributions=probs[order].unsqueeze(0),
        support=[loaded.labels[i] for i in order],
    )


def run_task(loaded: LoadedModel, prepared: PreparedInput, top_k: int) -> TaskOutput:
    if loaded.task == "fill-mask":
        return fill_mask(loaded, prepared, top_k)
    return sentiment(loaded, prepared)
