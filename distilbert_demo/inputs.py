"""Checking and tokenising what a visitor typed, with one-line messages for anything wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from transformers import PreTrainedTokenizerBase

MAX_CHARS = 10_000  # refused before tokenising: keeps a pasted book from tying up the server
MAX_TOKENS = 512  # the position-embedding limit of both models
MAX_MASKS = 5  # each mask adds a bar chart; more stops being readable
MASK = "[MASK]"
# Every upload and pasted corpus (distillation text, labelled sets); the server refuses larger
# uploads before our code runs, and the messages and labels quote the same number.
MAX_UPLOAD_BYTES = 2 * 2**20
UPLOAD_LIMIT_TEXT = f"{MAX_UPLOAD_BYTES // 2**20} MiB"
_MASK_PATTERN = re.compile(re.escape(MASK), re.IGNORECASE)


class InputError(ValueError):
    """The input cannot be run; str(error) is a one-line message for the user. `field` names the
    setting at fault when it is not the text (the page shows the message next to that control)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def check_upload_size(size: int) -> None:
    """Refuse a file of `size` bytes past the upload limit, saying both numbers."""
    if size > MAX_UPLOAD_BYTES:
        raise InputError(f"The file is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes ({UPLOAD_LIMIT_TEXT}).")


def tensors_on(encoded, device: torch.device) -> dict[str, torch.Tensor | None]:
    """A tokenizer output's input_ids, attention_mask and token_type_ids (None for DistilBERT) on `device`."""
    token_type_ids = encoded.get("token_type_ids")
    return {
        "input_ids": encoded["input_ids"].to(device),
        "attention_mask": encoded["attention_mask"].to(device),
        "token_type_ids": token_type_ids.to(device) if token_type_ids is not None else None,
    }


def model_inputs(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None
) -> dict[str, torch.Tensor]:
    """The keyword arguments of a forward pass; token_type_ids only for models that take them."""
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        inputs["token_type_ids"] = token_type_ids
    return inputs


@dataclass
class PreparedInput:
    """One text tokenised for one model."""

    input_ids: torch.Tensor  # (1, T)
    attention_mask: torch.Tensor  # (1, T)
    token_type_ids: torch.Tensor | None  # (1, T) for BERT, None for DistilBERT
    mask_positions: list[int]  # indices into T of the [MASK] tokens kept
    notices: list[str] = field(default_factory=list)  # things the user should know (truncation)

    def model_inputs(self) -> dict[str, torch.Tensor]:
        return model_inputs(self.input_ids, self.attention_mask, self.token_type_ids)

    @property
    def num_tokens(self) -> int:
        return self.input_ids.shape[1]


def check_text(text: object, task: str, require_mask: bool = True) -> str:
    """Refuse what cannot be run at all, before any tokenising. Returns the stripped text.

    Fill-mask needs a [MASK] unless `require_mask` is False (attention maps are worth showing for
    any text)."""
    if text is None or not isinstance(text, str) or not text.strip():
        raise InputError("Please enter some text.")
    if len(text) > MAX_CHARS:
        raise InputError(f"The text has {len(text):,} characters; the limit is {MAX_CHARS:,}. Please shorten it.")
    text = text.strip()
    if task == "fill-mask" and require_mask:
        masks = len(_MASK_PATTERN.findall(text))
        if masks == 0:
            raise InputError(
                f"Fill-mask needs at least one {MASK} token in the text, e.g. 'Paris is the {MASK} of France.'"
            )
        if masks > MAX_MASKS:
            raise InputError(f"The text has {masks} {MASK} tokens; at most {MAX_MASKS} are supported.")
    return text


def prepare(
    text: str, task: str, tokenizer: PreTrainedTokenizerBase, device: torch.device, require_mask: bool = True
) -> PreparedInput:
    """Tokenise for one model, truncating to MAX_TOKENS and saying what was cut.

    For fill-mask any [MASK] (in any case) is spelled as the tokenizer's mask token; with
    `require_mask` False the text need not have one and no mask positions are looked for."""
    text = check_text(text, task, require_mask)
    if task == "fill-mask":
        # Users type [MASK] in any case; each tokenizer has its own spelling of the mask token.
        text = _MASK_PATTERN.sub(lambda _: tokenizer.mask_token, text)
    full = tokenizer(text, truncation=False, return_tensors="pt", verbose=False)
    kept = tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    notices = []
    full_len, kept_len = full["input_ids"].shape[1], kept["input_ids"].shape[1]
    if full_len > kept_len:
        notices.append(f"The text is {full_len} tokens long; only the first {kept_len} were used.")

    positions: list[int] = []
    if task == "fill-mask" and require_mask:
        mask_id = tokenizer.mask_token_id
        positions = (kept["input_ids"][0] == mask_id).nonzero().flatten().tolist()
        total = int((full["input_ids"][0] == mask_id).sum())
        if not positions:
            raise InputError(f"Every {MASK} falls after the {MAX_TOKENS}-token limit; move one nearer the start.")
        if total > len(positions):
            lost = total - len(positions)
            notices.append(f"{lost} of {total} {MASK} tokens fell after the {MAX_TOKENS}-token limit and were dropped.")

    return PreparedInput(
        **tensors_on(kept, device),
        mask_positions=positions,
        notices=notices,
    )
