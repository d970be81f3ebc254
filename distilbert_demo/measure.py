"""Measurement: latency (interleaved, warmed up, median and p90) and memory.

Timing follows what a careful engineer does by hand: a fixed thread count, warm-up runs that
are thrown away, then N timed runs of each model *interleaved* (A B, B A, A B, ...) so that
whatever else the machine is doing hits both models alike. On a GPU the clock is read only
after synchronising, since kernels run asynchronously.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

MIB = 2**20
CPU = torch.device("cpu")

# How the extra peak memory of a forward pass is measured, as shown to users.
MEMORY_METHOD = {
    "cpu": "torch.profiler memory events (bytes the CPU allocator handed out minus freed, at the peak)",
    "cuda": "torch.cuda.max_memory_allocated() minus the allocation before the pass",
}


def configure_threads(threads: int | None = None) -> int:
    """Fix torch's intra-op thread count (env DISTILBERT_DEMO_THREADS, else torch's default)."""
    threads = threads or int(os.environ.get("DISTILBERT_DEMO_THREADS", "0")) or torch.get_num_threads()
    torch.set_num_threads(threads)
    return torch.get_num_threads()


@dataclass
class LatencyStats:
    median_ms: float
    p90_ms: float
    runs: int
    warmup: int
    p10_ms: float = 0.0

    @classmethod
    def from_samples(cls, samples_ms: list[float], warmup: int) -> LatencyStats:
        data = np.asarray(samples_ms)
        median, p10, p90 = np.median(data), np.percentile(data, 10), np.percentile(data, 90)
        return cls(float(median), float(p90), len(samples_ms), warmup, float(p10))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(
    runs: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 2,
    device: torch.device = CPU,
) -> dict[str, LatencyStats]:
    """Time each zero-argument callable `repeats` times, alternating the order every round."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    names = list(runs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with torch.inference_mode():
        for _ in range(warmup):
            for name in names:
                runs[name]()
        _synchronize(device)
        for round_index in range(repeats):
            order = names if round_index % 2 == 0 else names[::-1]
            for name in order:
                start = time.perf_counter_ns()
                runs[name]()
                _synchronize(device)
                samples[name].append((time.perf_counter_ns() - start) / 1e6)
    return {name: LatencyStats.from_samples(samples[name], warmup) for name in names}


# kineto, the profiler's backend, writes "USDT: ... profiler_start/stop" (and, off the main
# thread, an "External init callback" error) straight to file descriptor 2 on every pass,
# whatever KINETO_LOG_LEVEL says. They would garble the CLI's stderr and the server log.
_KINETO_NOISE = re.compile(r"^(USDT:|ERROR: External init callback)")
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_kineto_noise():
    """Send fd 2 to a temp file meanwhile, then pass every line but kineto's through."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", errors="replace").splitlines(keepends=True):
                if not _KINETO_NOISE.match(line):
                    sys.stderr.write(line)


def _cpu_peak_bytes(run: Callable[[], object]) -> int:
    from torch.profiler import ProfilerActivity, profile

    with _without_kineto_noise(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = run()
    del result
    # Raw allocator events in time order: +bytes on allocation, -bytes on free.
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def _cuda_peak_bytes(run: Callable[[], object], device: torch.device) -> int:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    result = run()
    torch.cuda.synchronize(device)
    del result
    return torch.cuda.max_memory_allocated(device) - before


def peak_forward_bytes(run: Callable[[], object], device: torch.device = CPU) -> int:
    """Extra memory at the peak of one call of `run` (activations and workspace, not weights)."""
    with torch.inference_mode():
        if device.type == "cuda":
            return _cuda_peak_bytes(run, device)
        return _cpu_peak_bytes(run)
