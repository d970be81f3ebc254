"""A labelled set of sentences for sentiment: the shipped one or a visitor's CSV, read and checked.

Evaluate labels every sentence with both models; the Ladder scores each variant on the same set.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from . import resources
from .inputs import InputError, check_upload_size

LABELS = ("negative", "positive")
MAX_ROWS = 5000
MAX_TEXT_CHARS = 2000  # per row; longer texts are refused with the row number
_LABEL_SPELLINGS = {
    "negative": "negative",
    "neg": "negative",
    "0": "negative",
    "positive": "positive",
    "pos": "positive",
    "1": "positive",
}


@dataclass
class LabelledSet:
    texts: list[str]
    labels: list[str]  # "negative" / "positive"
    name: str

    def __len__(self) -> int:
        return len(self.texts)


def parse_labelled_csv(data: bytes, name: str) -> LabelledSet:
    """A `text,label` CSV; a clear InputError for anything that is not one."""
    check_upload_size(len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("The file is not UTF-8 text.") from None
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
        missing = [c for c in ("text", "label") if c not in columns]
        if missing:
            raise InputError(f"The CSV needs columns text,label; missing: {', '.join(missing)}.")
        reader.fieldnames = columns
        rows = list(reader)
    except csv.Error as err:
        raise InputError(f"The file is not valid CSV: {err}.") from None
    texts, labels = [], []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        raw_text, raw_label = (row.get("text") or "").strip(), (row.get("label") or "").strip().lower()
        if not raw_text and not raw_label:
            raise InputError(f"Row {number} is empty; remove empty rows.")
        if not raw_text:
            raise InputError(f"Row {number} has no text.")
        if len(raw_text) > MAX_TEXT_CHARS:
            raise InputError(f"Row {number} is {len(raw_text):,} characters; the limit per row is {MAX_TEXT_CHARS:,}.")
        if raw_label not in _LABEL_SPELLINGS:
            shown = raw_label[:20] or "(empty)"
            raise InputError(f"Row {number} has an unknown label {shown!r}; use positive or negative.")
        texts.append(raw_text)
        labels.append(_LABEL_SPELLINGS[raw_label])
    if not texts:
        raise InputError("The CSV has a header but no rows.")
    if len(texts) > MAX_ROWS:
        raise InputError(f"The CSV has {len(texts):,} rows; the limit is {MAX_ROWS:,}.")
    return LabelledSet(texts, labels, name)


def load_labelled_file(path: str | None) -> LabelledSet:
    """The uploaded CSV, or the shipped set when no file is given."""
    if not path:
        return parse_labelled_csv(resources.SENTIMENT_SET.read_bytes(), resources.SENTIMENT_SET.name)
    file = Path(path)
    if not file.is_file():
        raise InputError(f"file {path!r} does not exist")
    if file.suffix.lower() != ".csv":
        raise InputError("Please give a .csv file with columns text,label.")
    check_upload_size(file.stat().st_size)
    return parse_labelled_csv(file.read_bytes(), file.name)


CHANCE = 1 / len(LABELS)  # what guessing gets on a balanced set
