"""The checkpoint flags the app and the local static page share: --bert / --distilbert (the task read
from the checkpoint's head) and --<task>-<side> per task, each with its environment variable."""

from __future__ import annotations

import argparse

from . import loading, registry


def add_checkpoint_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bert", metavar="ID_OR_PATH", help="BERT-side checkpoint; its task is read from its config")
    parser.add_argument(
        "--distilbert", metavar="ID_OR_PATH", help="DistilBERT-side checkpoint; its task is read from its config"
    )
    for task in registry.TASKS:
        for side in registry.SIDES:
            parser.add_argument(
                f"--{task}-{side}",
                metavar="ID_OR_PATH",
                help=f"{task} {side} checkpoint (env {registry.env_var(task, side)}; "
                f"default {registry.TASKS[task].defaults[side]})",
            )


def checkpoint_overrides(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[tuple[str, str], str]:
    """{(task, side): source} for the checkpoints the flags name; a checkpoint whose task cannot be
    read is a bad flag (one line, exit 2)."""
    overrides = {
        (task, side): value
        for task in registry.TASKS
        for side in registry.SIDES
        if (value := getattr(args, f"{task}_{side}".replace("-", "_")))
    }
    for side in registry.SIDES:  # --bert / --distilbert: the task comes from the checkpoint's head
        source = getattr(args, side)
        if source:
            try:
                overrides.setdefault((loading.task_of(source), side), source)
            except loading.LoadError as err:
                parser.error(str(err))
    return overrides
