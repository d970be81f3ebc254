"""Building a DistilBERT student from a BERT teacher, the way the DistilBERT authors initialised theirs.

Follows the reference extraction (transformers' examples/research_projects/distillation/scripts/
extract_distilbert.py): keep the word and position embeddings, the embedding LayerNorm, every
other encoder layer ([0, 2, 4, 7, 9, 11] of bert-base's 12) and the MLM head; drop the token-type
embeddings and the pooler. Weights are copied key by key while asserting that names and shapes
line up, like nanoGPT's `from_pretrained`.
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM

from ..layer_map import default_student_layers

DISTILBERT_LAYER_NORM_EPS = 1e-12  # DistilBERT hard-codes its LayerNorm eps; the teacher must match

# student module -> teacher module inside one encoder layer
_LAYER_PAIRS = [
    ("attention.q_lin", "attention.self.query"),
    ("attention.k_lin", "attention.self.key"),
    ("attention.v_lin", "attention.self.value"),
    ("attention.out_lin", "attention.output.dense"),
    ("sa_layer_norm", "attention.output.LayerNorm"),
    ("ffn.lin1", "intermediate.dense"),
    ("ffn.lin2", "output.dense"),
    ("output_layer_norm", "output.LayerNorm"),
]
_EMBEDDING_PAIRS = [
    ("distilbert.embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight"),
    ("distilbert.embeddings.position_embeddings.weight", "bert.embeddings.position_embeddings.weight"),
    ("distilbert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.weight"),
    ("distilbert.embeddings.LayerNorm.bias", "bert.embeddings.LayerNorm.bias"),
]
_HEAD_PAIRS = [
    ("vocab_transform", "cls.predictions.transform.dense"),
    ("vocab_layer_norm", "cls.predictions.transform.LayerNorm"),
]


def student_config(teacher_config: BertConfig, layers: list[int]) -> DistilBertConfig:
    """A DistilBERT config as wide as the teacher, with one layer per kept teacher layer."""
    return DistilBertConfig(
        vocab_size=teacher_config.vocab_size,
        max_position_embeddings=teacher_config.max_position_embeddings,
        sinusoidal_pos_embds=False,  # learned positions, copied from the teacher
        n_layers=len(layers),
        n_heads=teacher_config.num_attention_heads,
        dim=teacher_config.hidden_size,
        hidden_dim=teacher_config.intermediate_size,
        dropout=teacher_config.hidden_dropout_prob,
        attention_dropout=teacher_config.attention_probs_dropout_prob,
        activation=teacher_config.hidden_act,
        initializer_range=teacher_config.initializer_range,
        pad_token_id=teacher_config.pad_token_id,
        # transformers 5 spells the reference script's `tie_weights_` as `tie_word_embeddings`;
        # an untied teacher decoder gets its own copied vocab_projector.weight.
        tie_word_embeddings=getattr(teacher_config, "tie_word_embeddings", True),
    )


def copied_pairs(layers: list[int], tied: bool = True) -> list[tuple[str, str]]:
    """(student state-dict key, teacher state-dict key) for every tensor the student takes over.

    With tied word embeddings vocab_projector.weight is the word-embedding matrix itself, so it is
    written by the first pair and not listed again.
    """
    kinds = ("weight", "bias")
    pairs = list(_EMBEDDING_PAIRS)
    pairs += [
        (
            f"distilbert.transformer.layer.{student_layer}.{student_name}.{kind}",
            f"bert.encoder.layer.{teacher_layer}.{teacher_name}.{kind}",
        )
        for student_layer, teacher_layer in enumerate(layers)
        for student_name, teacher_name in _LAYER_PAIRS
        for kind in kinds
    ]
    pairs += [(f"{student}.{kind}", f"{teacher}.{kind}") for student, teacher in _HEAD_PAIRS for kind in kinds]
    pairs.append(("vocab_projector.bias", "cls.predictions.decoder.bias"))
    if not tied:
        pairs.append(("vocab_projector.weight", "cls.predictions.decoder.weight"))
    return pairs


def _check_teacher(teacher: object) -> None:
    config = getattr(teacher, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type != "bert" or not isinstance(teacher, BertForMaskedLM):
        kind = type(teacher).__name__ if model_type is None else f"{type(teacher).__name__} ({model_type})"
        raise ValueError(f"the teacher must be a BERT masked-LM model (BertForMaskedLM), not {kind}")
    if config.layer_norm_eps != DISTILBERT_LAYER_NORM_EPS:
        raise ValueError(
            f"the teacher's LayerNorm eps is {config.layer_norm_eps}; "
            f"DistilBERT's is fixed at {DISTILBERT_LAYER_NORM_EPS}"
        )


def build_student(
    teacher: BertForMaskedLM, layers: list[int] | None = None, *, fold_token_type: bool = False
) -> DistilBertForMaskedLM:
    """A DistilBertForMaskedLM initialised from `layers` of the teacher (default: default_student_layers).

    fold_token_type=False is the reference recipe: the token-type embeddings are dropped, so the
    student's embeddings differ from the teacher's by segment A's vector. True adds that vector into
    the position embeddings, which makes a single text embed exactly as in the teacher (then the
    first kept layer, if it is the teacher's layer 0, reproduces the teacher's attention exactly).
    """
    _check_teacher(teacher)
    n_teacher = teacher.config.num_hidden_layers
    layers = default_student_layers(n_teacher) if layers is None else list(layers)
    if not layers or len(set(layers)) != len(layers) or not all(0 <= i < n_teacher for i in layers):
        raise ValueError(f"layers must be distinct indices in 0..{n_teacher - 1}, got {layers}")

    config = student_config(teacher.config, layers)
    teacher_param = next(teacher.parameters())
    student = DistilBertForMaskedLM(config).to(device=teacher_param.device, dtype=teacher_param.dtype)
    student.train(teacher.training)

    sd, sd_teacher = student.state_dict(), teacher.state_dict()
    written = set()  # storage addresses, so tied tensors count as written through any of their names
    with torch.no_grad():
        for student_key, teacher_key in copied_pairs(layers, tied=config.tie_word_embeddings):
            assert student_key in sd, f"student has no {student_key}"
            assert teacher_key in sd_teacher, f"teacher has no {teacher_key}"
            assert sd[student_key].shape == sd_teacher[teacher_key].shape, (
                f"{student_key} {tuple(sd[student_key].shape)} != {teacher_key} {tuple(sd_teacher[teacher_key].shape)}"
            )
            sd[student_key].copy_(sd_teacher[teacher_key])
            written.add(sd[student_key].data_ptr())
        if fold_token_type:
            # BERT adds segment A's embedding to every token of a single text; DistilBERT has no segments.
            segment_a = sd_teacher["bert.embeddings.token_type_embeddings.weight"][0]  # (H,)
            sd["distilbert.embeddings.position_embeddings.weight"] += segment_a  # (P, H)
    left = [key for key, tensor in sd.items() if tensor.data_ptr() not in written]
    assert not left, f"student tensors left at their random init: {left}"
    return student


def random_student(teacher: BertForMaskedLM, layers: list[int] | None = None) -> DistilBertForMaskedLM:
    """A student of exactly build_student's shape with random weights (DistilBERT's own init, drawn
    from torch's generator: seed it for a repeatable run): the "smaller BERT trained from scratch"."""
    _check_teacher(teacher)
    layers = default_student_layers(teacher.config.num_hidden_layers) if layers is None else list(layers)
    teacher_param = next(teacher.parameters())
    student = DistilBertForMaskedLM(student_config(teacher.config, layers))
    return student.to(device=teacher_param.device, dtype=teacher_param.dtype).train(teacher.training)
