"""A visitor's distilled student, in whichever process a handler runs.

The Distill tab saves the student into a folder that STORAGE owns and names by a handle (capped,
expiring: storage.py). Compare and Attention are handed that folder, not the model: on ZeroGPU
they run in a forked worker that shares the server's disk but not its memory, so the folder is the
one thing every process sees alike. Each process keeps the students it used last in memory (at
most MAX_IN_MEMORY), so the next comparison with the same student does not read it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from transformers import AutoModelForMaskedLM

from .inputs import InputError
from .loading import LoadedModel
from .storage import STORAGE

STUDENT_NAME = "distilled student (this session)"
MAX_IN_MEMORY = 2
_loaded: OrderedDict[Path, LoadedModel] = OrderedDict()  # folder -> model, most recently used last
_lock = threading.Lock()


def model_folder(folder: Path | str) -> Path:
    """Where the student's model and tokenizer are saved inside its STORAGE folder."""
    return Path(folder) / "model"


def remember(folder: Path | str, student: LoadedModel) -> None:
    """Keep a student this process just made, so that using it does not read it back from disk."""
    with _lock:
        _loaded[Path(folder)] = student
        _loaded.move_to_end(Path(folder))
        while len(_loaded) > MAX_IN_MEMORY:
            _loaded.popitem(last=False)


def forget(folder: Path | str) -> None:
    with _lock:
        _loaded.pop(Path(folder), None)


def load(folder: Path | str, teacher: LoadedModel) -> LoadedModel:
    """The student saved in `folder`, on its teacher's device with its teacher's tokenizer (the
    student was made with it). A folder the server has since dropped is said plainly (InputError)."""
    folder = Path(folder)
    with _lock:
        for gone in [f for f in _loaded if not f.exists()]:  # dropped while this process held it
            del _loaded[gone]
        student = _loaded.get(folder)
    if student is None:
        saved = model_folder(folder)
        if not saved.is_dir():
            raise InputError(STORAGE.evicted_message())
        model = AutoModelForMaskedLM.from_pretrained(saved).eval()
        student = LoadedModel(
            task="fill-mask",
            side="distilbert",
            name=STUDENT_NAME,
            source="local",
            model=model,
            tokenizer=teacher.tokenizer,
        )
    if student.device != teacher.device:
        student.model.to(teacher.device)
    remember(folder, student)
    return student


STORAGE.on_drop(forget)
