"""Settings declared once: a dataclass field carries its default, help, bounds and label, and the
CLI flags (here) and the tab controls (tabs.controls) are derived from it, as transformers'
example scripts derive their flags from dataclass fields.

    batch_size: int = setting(8, "sequences per step", minimum=1, maximum=32)
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, get_type_hints

from .inputs import InputError


def setting(
    default: Any,
    help: str,  # noqa: A002 - the word argparse and the transformers scripts use
    *,
    label: str | None = None,  # the control's label on the page (default: from the name)
    minimum: float | None = None,  # the page control's range (the CLI is not bound by it)
    maximum: float | None = None,
    step: float | None = None,
    choices: tuple | None = None,
    page_default: Any = None,  # where the page starts, when that differs from the CLI's default
    flag: str | None = None,  # the CLI flag, when not --field-name (a bool True by default is turned off by it)
    cli: bool = True,  # False: not a CLI flag (an internal knob)
):
    metadata = {
        "help": help,
        "label": label,
        "minimum": minimum,
        "maximum": maximum,
        "step": step,
        "choices": choices,
        "page_default": page_default,
        "flag": flag,
        "cli": cli,
    }
    if isinstance(default, list | tuple | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def fields(cls) -> dict[str, tuple[dataclasses.Field, type]]:
    """name -> (field, resolved type) for the fields declared with `setting`."""
    hints = get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls) if "help" in f.metadata}


def default_of(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def page_default_of(f: dataclasses.Field) -> Any:
    return default_of(f) if f.metadata["page_default"] is None else f.metadata["page_default"]


def label_of(f: dataclasses.Field) -> str:
    return f.metadata["label"] or f.name.replace("_", " ").capitalize()


def int_list(text: str | list, what: str) -> list[int]:
    """'16, 128' (or a list) -> [16, 128], with a one-line message for anything else."""
    if isinstance(text, list | tuple):
        return [int(v) for v in text]
    try:
        values = [int(v) for v in str(text).replace(" ", "").split(",") if v]
    except ValueError:
        raise InputError(f"{what} must be whole numbers separated by commas, e.g. 16,128") from None
    if not values:
        raise InputError(f"give at least one value for {what}")
    return values


def add_flags(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field of `cls`, with its help, default and type."""
    for name, (f, kind) in fields(cls).items():
        meta = f.metadata
        if not meta["cli"]:
            continue
        flag = meta["flag"] or "--" + name.replace("_", "-")
        default = default_of(f)
        if kind is bool:
            action = "store_false" if default else "store_true"
            parser.add_argument(flag, dest=name, action=action, help=meta["help"])
        elif kind == list[int]:
            shown = ",".join(map(str, default))
            parser.add_argument(flag, dest=name, default=shown, metavar=shown, help=meta["help"])
        else:  # minimum and maximum bound the page's controls; the cores check what can run at all
            parser.add_argument(
                flag,
                dest=name,
                type=kind,
                choices=meta["choices"],
                default=default,
                help=f"{meta['help']} (default {default})",
            )


def from_flags(cls, args: argparse.Namespace, **extra):
    """An instance of `cls` from the flags add_flags made (list fields parsed from '1,2,3')."""
    values = {}
    for name, (f, kind) in fields(cls).items():
        if not f.metadata["cli"]:
            continue
        value = getattr(args, name)
        flag = f.metadata["flag"] or "--" + name.replace("_", "-")
        values[name] = int_list(value, flag) if kind == list[int] else value
    return cls(**values, **extra)
