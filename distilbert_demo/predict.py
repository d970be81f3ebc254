"""Task inference: fill-mask and sentiment, returning plain dataclasses.

Fill-mask runs the encoder on the whole text but the vocabulary projection (the largest matrix
in the model: hidden x 30,522) only at the [MASK] positions, the way nanoGPT runs its LM head
on the last position only at inference. Same answer as `transformers.pipeline`, less work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import qa
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

    # fill-mask: one list of top-k candidates per mask; sentiment: labels sorted by score;
    # qa: the top-k answer spans, best first
    predictions: list[list[Candidate]] | list[LabelScore] | list[qa.Answer]
    # full probability distributions, one row per mask (fill-mask) or one row (sentiment);
    # rows are indexed by token id / normalised-label order and feed the agreement metrics
    distributions: torch.Tensor  # (n_masks or 1, vocab or labels)
    support: list[str]  # what each distribution column stands for (labels), empty for vocab
    task: str = "fill-mask"


def _bert_head(model, rows: torch.Tensor) -> torch.Tensor:
    return model.cls(rows)  # transform (dense, act, LayerNorm), then decoder: (N, H) -> (N, V)


def _distilbert_head(model, rows: torch.Tensor) -> torch.Tensor:
    x = model.vocab_layer_norm(model.activation(model.vocab_transform(rows)))  # (N, H)
    return model.vocab_projector(x)  # (N, V)


# model_type -> (encoder attribute, MLM head on selected hidden rows)
_MLM_PARTS: dict[str, tuple[str, Callable]] = {
    "bert": ("bert", _bert_head),
    "distilbert": ("distilbert", _distilbert_head),
}


def has_split_head(model) -> bool:
    """A PyTorch BERT or DistilBERT masked LM, whose head can run on selected rows (a stand-in that
    only returns logits, such as an ONNX Runtime session, runs the whole model)."""
    return isinstance(model, torch.nn.Module) and model.config.model_type in _MLM_PARTS


def encode(model, inputs: dict) -> torch.Tensor:
    """The encoder's last hidden states, without the vocabulary projection: (B, T, H)."""
    return getattr(model, _MLM_PARTS[model.config.model_type][0])(**inputs).last_hidden_state


def mlm_head(model, rows: torch.Tensor) -> torch.Tensor:
    """The masked-LM head on selected hidden rows only: (N, H) -> (N, V)."""
    return _MLM_PARTS[model.config.model_type][1](model, rows)


def mask_logits(model, prepared: PreparedInput) -> torch.Tensor:
    """Logits at the mask positions only, shape (M, V)."""
    inputs = prepared.model_inputs()
    if not has_split_head(model):  # other architectures: the full forward pass, then pick the positions
        return model(**inputs).logits[0, prepared.mask_positions]
    hidden = encode(model, inputs)  # (1, T, H)
    return mlm_head(model, hidden[0, prepared.mask_positions])  # (M, V)


def class_logits(model, prepared: PreparedInput) -> torch.Tensor:
    return model(**prepared.model_inputs()).logits[0]  # (C,)


def production_forward(loaded: LoadedModel, prepared: PreparedInput) -> Callable[[], torch.Tensor]:
    """The exact computation a request runs, as a zero-argument callable (for timing)."""
    if loaded.task == "qa":
        return lambda: qa.qa_logits(loaded.model, prepared)
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
        task="sentiment",
    )


@torch.inference_mode()
def question_answering(loaded: LoadedModel, prepared: qa.QAPrepared, context: str, top_k: int) -> TaskOutput:
    start_logits, end_logits = qa.qa_logits(loaded.model, prepared)
    answers = qa.best_answers(start_logits, end_logits, prepared, context, top_k=top_k)
    # Tokenizers differ between the QA pair (cased vs uncased): no shared distribution to compare.
    return TaskOutput(predictions=answers, distributions=torch.zeros(1, 0), support=[], task="qa")


def run_task(loaded: LoadedModel, prepared, top_k: int, context: str = "") -> TaskOutput:
    if loaded.task == "qa":
        return question_answering(loaded, prepared, context, top_k)
    if loaded.task == "fill-mask":
        return fill_mask(loaded, prepared, top_k)
    return sentiment(loaded, prepared)
