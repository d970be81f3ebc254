"""Text for distillation: the shipped toy corpus, pasted text or an uploaded file, and a stream
that reads a corpus of any size line by line (never all of it in memory).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

from torch.utils.data import IterableDataset
from transformers import PreTrainedTokenizerBase

from ..inputs import MAX_UPLOAD_BYTES, UPLOAD_LIMIT_TEXT, InputError, check_upload_size
from ..resources import HELDOUT_EVERY, MIN_SENTENCES, sentences_from_text, split, toy_corpus

# re-exported: the corpus functions in one place for distillation's callers
__all__ = ["HELDOUT_EVERY", "MAX_UPLOAD_BYTES", "sentences_from_text", "split", "toy_corpus"]


def read_user_text(pasted: str | None = None, upload_path: str | None = None) -> list[str] | None:
    """A visitor's corpus, or None for the toy corpus. Raises InputError with a clear message."""
    if upload_path:
        path = Path(upload_path)
        if path.suffix.lower() != ".txt":
            raise InputError("Please upload a plain .txt file (one sentence or paragraph per line).")
        check_upload_size(path.stat().st_size)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("The file is not UTF-8 text.") from None
    elif pasted and pasted.strip():
        if len(pasted.encode("utf-8")) > MAX_UPLOAD_BYTES:
            raise InputError(f"The pasted text is over {UPLOAD_LIMIT_TEXT}; please shorten it.")
        text = pasted
    else:
        return None
    sentences = sentences_from_text(text)
    if len(sentences) < MIN_SENTENCES:
        raise InputError("The corpus is empty: give at least two non-empty lines of text.")
    return sentences


IN_MEMORY_LINES = 100_000  # a corpus file up to this many lines is read and split in memory


def load_corpus_file(path: str | Path, heldout_count: int) -> tuple[list[str] | str, list[str], int]:
    """(train source, held-out sentences, lines to skip) for a corpus file of any size.

    A file that fits in IN_MEMORY_LINES is split like the toy corpus; a larger one is streamed
    from disk for training, its first `heldout_count` lines held out.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"corpus file {str(path)!r} does not exist")
    head = list(itertools.islice(_file_lines(path), IN_MEMORY_LINES + 1))
    if len(head) < MIN_SENTENCES:
        raise InputError("The corpus is empty: give at least two non-empty lines of text.")
    if len(head) <= IN_MEMORY_LINES:
        train, heldout = split(head)
        return train, heldout, 0
    heldout = head[:heldout_count]
    return str(path), heldout, len(heldout)


def _file_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield line.strip()


class PackedTextStream(IterableDataset):
    """Endless stream of token sequences of at most `seq_len` tokens for masked-LM training.

    Consecutive lines are packed into one sequence until the next would overflow, as the
    reference code feeds paragraphs rather than lone short sentences. Lines come from a list or,
    for corpora too big for memory, straight from a file; a seeded shuffle buffer mixes them.
    Every pass over the text starts again from the top, so a run is as long as its step count.
    """

    def __init__(
        self,
        source: list[str] | str | Path,
        tokenizer: PreTrainedTokenizerBase,
        seq_len: int,
        seed: int = 0,
        shuffle_buffer: int = 1024,
        skip_lines: int = 0,  # lines at the top of a file kept out of training (held out)
    ):
        self.source, self.tokenizer, self.seq_len = source, tokenizer, seq_len
        self.seed, self.shuffle_buffer, self.skip_lines = seed, shuffle_buffer, skip_lines

    def _lines(self) -> Iterator[str]:
        lines = iter(self.source) if isinstance(self.source, list) else _file_lines(Path(self.source))
        yield from itertools.islice(lines, self.skip_lines, None)

    def _shuffled(self, rng: random.Random) -> Iterator[str]:
        buffer: list[str] = []
        for line in self._lines():
            buffer.append(line)
            if len(buffer) >= self.shuffle_buffer:
                yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer

    def __iter__(self) -> Iterator[dict]:
        rng = random.Random(self.seed)
        body = self.seq_len - 2  # room for [CLS] and [SEP]
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        yielded = False
        while True:
            packed: list[int] = []
            for line in self._shuffled(rng):
                ids = self.tokenizer(line, add_special_tokens=False, truncation=True, max_length=body)["input_ids"]
                if packed and len(packed) + len(ids) > body:
                    yield {"input_ids": [cls, *packed, sep]}
                    yielded, packed = True, []
                packed.extend(ids)
            if packed:
                yield {"input_ids": [cls, *packed, sep]}
                yielded = True
            if not yielded:
                raise InputError("The corpus has no text the tokenizer can use.")
