"""Measurement: latency (interleaved, warmed up, median and p90), ratios with intervals, memory.

Timing follows what a careful engineer does by hand: a fixed thread count, warm-up runs that
are thrown away, then N timed runs of each model *interleaved* (A B, B A, A B, ...) so that
whatever else the machine is doing hits both models alike. N is fixed, or as many rounds as fit
in a time budget (at least a minimum). On a GPU the clock is read only after synchronising,
since kernels run asynchronously.

Inside the app no other model work runs while a region is timed: every piece of model work
holds MACHINE (a first-come, first-served lock), a timed region for its whole length, a heavy
job (a distillation step, an evaluation batch, a sweep point) one step at a time, so a heavy
job pauses between two steps while a comparison is timed. What runs *outside* the app cannot be
paused; OutsideLoad measures it and the figure says so.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import torch

from . import arithmetic

MIB = 2**20
CPU = torch.device("cpu")

# How the extra peak memory of a forward pass is measured, as shown to users.
MEMORY_METHOD = {
    "cpu": "torch.profiler memory events (bytes the CPU allocator handed out minus freed, at the peak)",
    "cuda": "torch.cuda.max_memory_allocated() minus the allocation before the pass",
}


def device_name(device: torch.device | str) -> str:
    """ "GPU (NVIDIA H200)" or "CPU (AMD EPYC)"."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return f"CPU ({cpu_name()})"


def device_label(device: torch.device | str) -> str:
    """What measured a figure, as the page and the CLI say it: "GPU (NVIDIA H200)" or "CPU (AMD EPYC), 2 threads"."""
    name = device_name(device)
    return name if torch.device(device).type == "cuda" else f"{name}, {torch.get_num_threads()} threads"


def cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what the platform says."""
    import platform

    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def threads() -> int:
    """The threads torch runs model work on (what every figure names)."""
    return torch.get_num_threads()


def configure_threads(threads: int | None = None) -> int:
    """Fix torch's intra-op thread count (env DISTILBERT_DEMO_THREADS, else torch's default)."""
    threads = threads or int(os.environ.get("DISTILBERT_DEMO_THREADS", "0")) or torch.get_num_threads()
    torch.set_num_threads(threads)
    return torch.get_num_threads()


class FairLock:
    """A reentrant lock handed out first come, first served.

    threading.Lock lets a thread that releases and at once re-acquires (a training loop) win over
    one that has been waiting (a comparison); here the waiting one goes first.
    """

    def __init__(self):
        self._reset()
        # A forked process (a ZeroGPU worker) has only the thread that forked: there, a lock that
        # another thread held at that moment would never be released.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[int] = []  # waiting threads' idents, in arrival order
        self._owner: int | None = None
        self._depth = 0

    def __enter__(self):
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return self
            self._queue.append(me)
            while self._owner is not None or self._queue[0] != me:
                self._cond.wait()
            self._queue.pop(0)
            self._owner, self._depth = me, 1
            return self

    def __exit__(self, *exc):
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


MACHINE = FairLock()  # held by every piece of model work in the app (see the module's docstring)


@dataclass
class LatencyStats:
    median_ms: float
    p90_ms: float
    runs: int
    warmup: int
    p10_ms: float = 0.0
    samples_ms: list[float] = field(default_factory=list, repr=False)  # in run order (for intervals)

    @classmethod
    def from_samples(cls, samples_ms: list[float], warmup: int) -> LatencyStats:
        data = np.asarray(samples_ms)
        median, p10, p90 = np.median(data), np.percentile(data, 10), np.percentile(data, 90)
        return cls(float(median), float(p90), len(samples_ms), warmup, float(p10), list(samples_ms))


def ratio_interval(
    slow_ms: list[float], fast_ms: list[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval of median(slow) / median(fast), resampling the interleaved rounds as pairs
    (run i of both models ran side by side, so the machine's moods stay paired)."""
    slow, fast = np.asarray(slow_ms), np.asarray(fast_ms)
    rounds = min(len(slow), len(fast))
    if rounds < 2:
        ratio = float(np.median(slow) / np.median(fast))
        return ratio, ratio
    picks = np.random.default_rng(seed).integers(0, rounds, size=(resamples, rounds))  # (R, n)
    ratios = np.median(slow[:rounds][picks], axis=1) / np.median(fast[:rounds][picks], axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class Speedup:
    """How many times faster the smaller model ran, with a bootstrap interval, next to what physics
    allows: `expected` is the FLOPs ratio of the two forward passes at their own token counts
    (arithmetic.py), and only an interval wholly past it plus the implementations' measured
    overheads (arithmetic.IMPLEMENTATION_MARGIN) is called impossible. None: no bound applies (the
    two sides run different precisions or runtimes)."""

    value: float
    low: float
    high: float
    expected: float | None

    @classmethod
    def of(cls, slow: LatencyStats, fast: LatencyStats, expected: float | None) -> Speedup:
        low, high = ratio_interval(slow.samples_ms, fast.samples_ms)
        return cls(slow.median_ms / fast.median_ms, low, high, expected)

    @property
    def bound(self) -> float | None:
        return None if self.expected is None else self.expected * (1 + arithmetic.IMPLEMENTATION_MARGIN)

    @property
    def past_bound(self) -> bool:
        return self.bound is not None and self.low > self.bound

    def text(self) -> str:
        return f"{self.value:.2f}x (95% CI {self.low:.2f}-{self.high:.2f})" + (" ⚠" if self.past_bound else "")

    def warning(self) -> str:
        return (
            f"faster than the arithmetic allows (the FLOPs ratio at these token counts is {self.expected:.2f}x, "
            f"{self.bound:.2f}x with the implementations' overheads): something else slowed BERT's runs"
        )

    def to_dict(self) -> dict:
        rounded = lambda x: None if x is None else round(x, 4)  # noqa: E731
        return {
            "value": round(self.value, 4),
            "ci95": [round(self.low, 4), round(self.high, 4)],
            "expected": rounded(self.expected),
            "bound": rounded(self.bound),
            "past_bound": self.past_bound,
        }


class OutsideLoad:
    """How busy the machine was with *other* processes during a block: the CPU time they used,
    as a share of all cores over the block's wall time (system busy time minus this process's)."""

    BUSY = 0.25  # past this share a timing is flagged: other processes took a quarter of the CPUs

    def __enter__(self):
        self._start = (time.perf_counter(), self._system_busy(), self._own())
        return self

    def __exit__(self, *exc):
        wall, busy, own = (b - a for a, b in zip(self._start, (time.perf_counter(), self._system_busy(), self._own())))
        cores = psutil.cpu_count() or 1
        self.share = max(0.0, min(1.0, (busy - own) / (wall * cores))) if wall > 0 else 0.0

    @staticmethod
    def _system_busy() -> float:
        times = psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)

    @staticmethod
    def _own() -> float:
        times = psutil.Process().cpu_times()
        return times.user + times.system

    @property
    def busy(self) -> bool:
        return self.share > self.BUSY

    def note(self) -> str:
        """One line for a figure taken under this load, or "" when the machine was quiet."""
        if not self.busy:
            return ""
        return (
            f"Other processes used {self.share:.0%} of this machine's CPUs while it was timing: "
            "the figures may be slow and noisy. Rerun when the machine is quieter."
        )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


WARMUP = 2  # untimed runs of each callable before the timed ones
MIN_RUNS = 5  # a time budget still times at least this many rounds
MAX_RUNS = 200  # and at most this many


def time_interleaved(
    runs: dict[str, Callable[[], object]],
    repeats: int | None = None,
    warmup: int = WARMUP,
    device: torch.device = CPU,
    budget_s: float | None = None,
) -> dict[str, LatencyStats]:
    """Time each zero-argument callable, alternating the order every round: `repeats` rounds, or
    (repeats None) as many as fit in `budget_s` seconds of timing, at least MIN_RUNS.

    Holds MACHINE throughout, so no other model work of this process runs in between.
    """
    if repeats is not None and repeats < 1:
        raise ValueError("repeats must be at least 1")
    if repeats is None and not (budget_s and budget_s > 0):
        raise ValueError("give repeats or a positive time budget")
    names = list(runs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with MACHINE, torch.inference_mode():
        for _ in range(warmup):
            for name in names:
                runs[name]()
        _synchronize(device)
        timed_ns, round_index = 0, 0
        while round_index < (repeats or MAX_RUNS):
            if repeats is None and round_index >= MIN_RUNS and timed_ns >= budget_s * 1e9:
                break
            order = names if round_index % 2 == 0 else names[::-1]
            for name in order:
                start = time.perf_counter_ns()
                runs[name]()
                _synchronize(device)
                elapsed = time.perf_counter_ns() - start
                timed_ns += elapsed
                samples[name].append(elapsed / 1e6)
            round_index += 1
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


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion: sound near 0 and 1 and for small sets."""
    if total == 0:
        return (0.0, 1.0)
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))
