"""What the server keeps for each visitor between clicks, within one memory budget.

An Attention extraction is redrawn many times without re-running the models, so its arrays stay on
the server (108 MiB for the bert-base pair at 512 tokens, in float16); so does an evaluation's
disagreement reel. Kept per visitor with nothing to bound their sum, a script could fill a 16 GB
Space in minutes. So the page holds only a key (a gr.State of a few bytes) and the value lives
here, counted in bytes: when a new one would take the total past what the budget leaves for views
(VIEWS_BYTES: the budget less Gradio's own per-session copies), the least recently used go first,
and a view older than the session time-to-live goes too. A visitor whose view went
is told so on their next redraw (EXPIRED), never shown another visitor's (a key is checked against
the session that made it).

Kept in memory rather than on disk: a redraw reads the whole view (all layers of both models for
the model views), and the budget's bound is on resident memory, which is what runs out.

    DISTILBERT_DEMO_STATE_BUDGET_MB   MiB kept for all visitors together, views and Gradio's session
                                      copies (default 2048: 1673 MiB for views with 500 sessions)
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .storage import MAX_SESSIONS, SESSION_COPY_BYTES, SESSION_TTL_S, STORAGE

BUDGET_BYTES = int(float(os.environ.get("DISTILBERT_DEMO_STATE_BUDGET_MB", "2048")) * 2**20)
# The budget covers everything kept per visitor: Gradio's own copy of each session's page (at most
# MAX_SESSIONS of them) comes out of it first, and the views get the rest (none, if the copies take it
# all: then lower DISTILBERT_DEMO_MAX_SESSIONS or raise the budget).
VIEWS_BYTES = max(0, BUDGET_BYTES - MAX_SESSIONS * SESSION_COPY_BYTES)
EXPIRED = "This view expired on the server (it keeps {budget} of views for all visitors, the least recently used go first): press {again} again."  # noqa: E501 - one sentence


def size_of(value) -> int:
    """Bytes held by a kept value: arrays and frames exactly, containers by their contents."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(size_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return 64 + sum(size_of(k) + size_of(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 56 + sum(size_of(item) for item in value)
    if isinstance(value, str):
        return 49 + len(value.encode("utf-8"))
    return 32  # numbers, booleans, None


def describe(size: int, budget: int = VIEWS_BYTES) -> str:
    """What one view costs the server, in the budget's terms (the page says it under the view)."""
    room = max(1, budget // max(size, 1))
    return (
        f"This view keeps {size / 2**20:.1f} MiB on the server for redraws, out of {budget / 2**20:.0f} MiB for all "
        f"visitors together: room for about {room} views like it at once."
    )


@dataclass
class _View:
    session: str
    value: object
    size: int
    created: float


class Kept:
    """Keys to values, least recently used first, their sizes summed within `budget`."""

    def __init__(self, budget: int = VIEWS_BYTES, ttl_s: float = SESSION_TTL_S):
        self.budget, self.ttl_s = budget, ttl_s
        self._views: OrderedDict[str, _View] = OrderedDict()
        self._lock = threading.Lock()
        self.used = 0  # bytes kept now
        self.evicted = 0  # views dropped to stay within the budget, since start

    def put(self, session: str, value) -> str:
        """Keep `value` for `session`; returns its key. Older views go first when the budget is reached;
        a value larger than the whole budget is not kept (its key reads as expired)."""
        size, key = size_of(value), uuid.uuid4().hex
        STORAGE.start_sweeper()
        with self._lock:
            while self._views and self.used + size > self.budget:
                self._drop(next(iter(self._views)))
                self.evicted += 1
            if size <= self.budget:
                self._views[key] = _View(session, value, size, time.monotonic())
                self.used += size
        return key

    def get(self, session: str, key: str | None, again: str):
        """The value behind `key`, or LookupError with EXPIRED (naming the button that makes it again)
        when it went, or when the key is another session's."""
        with self._lock:
            view = self._views.get(key) if key else None
            if view is None or view.session != session:
                raise LookupError(EXPIRED.format(budget=f"{self.budget / 2**20:.0f} MiB", again=again))
            self._views.move_to_end(key)
            return view.value

    def replace(self, session: str, key: str, value, again: str) -> None:
        """The view behind `key`, changed (another layer map): re-counted, kept under the same key."""
        self.get(session, key, again)
        with self._lock:
            self._drop(key)
            size = size_of(value)
            while self._views and self.used + size > self.budget:
                self._drop(next(iter(self._views)))
                self.evicted += 1
            self._views[key] = _View(session, value, size, time.monotonic())
            self.used += size

    def forget_session(self, session: str) -> None:
        with self._lock:
            for key in [k for k, v in self._views.items() if v.session == session]:
                self._drop(key)

    def sweep(self, now: float | None = None) -> None:
        """Drop the views older than the time-to-live."""
        cutoff = (now if now is not None else time.monotonic()) - self.ttl_s
        with self._lock:
            for key in [k for k, v in self._views.items() if v.created < cutoff]:
                self._drop(key)

    def __len__(self) -> int:
        return len(self._views)

    def _drop(self, key: str) -> None:
        view = self._views.pop(key, None)
        if view is not None:
            self.used -= view.size


KEPT = Kept()
STORAGE.also_sweep(KEPT.sweep)
