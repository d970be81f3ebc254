"""What the heavy tabs (Distill, Evaluate, Benchmark) share: their queue and their Stop button."""

from __future__ import annotations

import threading

# Distillations, evaluations and benchmark sweeps share one queue: one heavy job at a time on the
# server; later visitors see their place in the queue. Comparisons have their own.
HEAVY_QUEUE = "heavy"


def _session(request) -> str:
    return request.session_hash if request is not None else "local"


class StopFlags(dict):
    """Session -> stop flag of that visitor's running job, so that a Stop click reaches it."""

    def start(self, request) -> tuple[str, threading.Event]:
        session = _session(request)
        flag = self[session] = threading.Event()
        return session, flag

    def finish(self, session: str) -> None:
        self.pop(session, None)

    def stop(self, request) -> bool:
        """Ask the visitor's running job to stop; False when they have none."""
        flag = self.get(_session(request))
        if flag is None:
            return False
        flag.set()
        return True
