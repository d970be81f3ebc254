"""Which teacher layers a student keeps, and which BERT layer each DistilBERT layer is set against.

Shared by distillation (the layers a student is built from), Attention and Evaluate's reel (the
BERT layer each DistilBERT layer is compared with): the DistilBERT paper's choice for bert-base,
every other layer otherwise, and the parsing of a list a visitor types ("0, 2, 4, 7, 9, 11").
"""

from __future__ import annotations

import re

import numpy as np

from .inputs import InputError

PAPER_LAYERS = [0, 2, 4, 7, 9, 11]  # the layers the DistilBERT authors kept from bert-base


def default_student_layers(teacher_layers: int) -> list[int]:
    """The teacher layers a student keeps by default: the paper's six for 12, else every other one."""
    if teacher_layers < 1:
        raise ValueError(f"a teacher needs at least one layer, not {teacher_layers}")
    if teacher_layers == len(PAPER_LAYERS) * 2:
        return list(PAPER_LAYERS)
    return list(range(0, teacher_layers, 2))


def parse_layer_numbers(text: object, teacher_layers: int) -> list[int]:
    """Parse "0, 2, 4" into teacher layer indices, each checked against the teacher's depth.

    Commas and/or spaces separate numbers.
    """
    pieces = re.split(r"[,\s]+", text.strip()) if isinstance(text, str) else []
    pieces = [p for p in pieces if p]  # a trailing comma is harmless
    if not pieces:
        raise InputError("give at least one layer")
    numbers = []
    for piece in pieces:
        if not re.fullmatch(r"[+-]?\d+", piece):
            raise InputError(f"{piece!r} is not a layer number; give whole numbers such as 0, 2, 4")
        number = int(piece)
        if number < 0:
            raise InputError(f"layer {number} is negative; layers count from 0")
        if number >= teacher_layers:
            raise InputError(f"layer {number} is past the teacher's last layer ({teacher_layers - 1})")
        numbers.append(number)
    return numbers


def parse_layers(text: str, teacher_layers: int) -> list[int]:
    """The teacher layers a student should keep, in the order given; each at most once."""
    layers = parse_layer_numbers(text, teacher_layers)
    seen = set()
    for layer in layers:
        if layer in seen:
            raise InputError(f"layer {layer} is given twice; each teacher layer can be kept once")
        seen.add(layer)
    return layers


def default_layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layer for each student layer: the paper's [0, 2, 4, 7, 9, 11] for 12 -> 6, else evenly spaced."""
    if teacher_layers < 1 or student_layers < 1:
        raise ValueError(f"both models need layers, got teacher {teacher_layers} and student {student_layers}")
    kept = default_student_layers(teacher_layers)
    if student_layers == len(kept):
        return kept
    return [int(round(x)) for x in np.linspace(0, teacher_layers - 1, student_layers)]


def parse_layer_map(text: str, teacher_layers: int, student_layers: int) -> list[int]:
    """Parse "0, 2, 4, 7, 9, 11": one BERT layer per DistilBERT layer (repeats allowed)."""
    layers = parse_layer_numbers(text, teacher_layers)
    if len(layers) != student_layers:
        given = ", ".join(map(str, layers))
        raise InputError(f"give {student_layers} BERT layers, one per DistilBERT layer; got {len(layers)} ({given})")
    return layers
