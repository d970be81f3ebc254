"""Inputs of an exact token length, for timing: real corpus words, a [MASK] in the middle for
fill-mask, the same row repeated for a batch. The Benchmark and the Ladder time the same inputs.
"""

from __future__ import annotations

import itertools

import torch

from . import resources
from .inputs import InputError
from .loading import LoadedModel


def ids_of_length(tokenizer, seq_len: int, with_mask: bool) -> list[int]:
    """Token ids of real corpus text, exactly `seq_len - 2` of them ([CLS] and [SEP] come on top).

    Built from ids, not text: decoding and re-encoding WordPiece ids can merge pieces.
    """
    if seq_len < 3:
        raise InputError("sequence lengths must be at least 3 tokens ([CLS], one token, [SEP]).")
    words = itertools.cycle(" ".join(resources.toy_corpus()).split())
    ids: list[int] = []
    while len(ids) < seq_len - 2:
        ids += tokenizer(next(words), add_special_tokens=False)["input_ids"]
    ids = ids[: seq_len - 2]
    if with_mask:
        ids[len(ids) // 2] = tokenizer.mask_token_id
    return ids


def batch_inputs(loaded: LoadedModel, ids: list[int], batch_size: int) -> dict[str, torch.Tensor]:
    tok = loaded.tokenizer
    row = [tok.cls_token_id, *ids, tok.sep_token_id]
    input_ids = torch.tensor([row] * batch_size, device=loaded.device)  # (B, T)
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    if "token_type_ids" in tok.model_input_names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    return inputs
