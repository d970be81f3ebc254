"""ZeroGPU: the handlers that run models ask for a GPU, for as long as their work needs.

On a ZeroGPU Space a GPU is attached only while a function decorated with `spaces.GPU` runs, for
at most the duration it asks for (visitors pay that from a daily quota of minutes, so asks are
short and follow the request). Everywhere else (a laptop, CI, a CPU Space) `spaces.GPU` returns
the function unchanged, and without the `spaces` package so does `on_gpu`. The package must be
imported before torch: distilbert_demo/__init__.py does that.

On ZeroGPU the decorated call runs in a forked worker (spaces/zero/wrappers.py: a fork-context
`Process` per worker, kept and reused while the scheduler reports it idle), its arguments and
results are pickled (each yielded item of a generator), and whatever it changes in memory stays in
that worker. So the decorated functions take plain arguments and return plain data (figures,
tables, text, bytes); what is kept between clicks is made and registered by the handler around
them, in the server (tabs.py). tests/zerogpu.py runs the app under the package's own wrappers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

try:
    import spaces
except ImportError:  # not on Spaces: nothing to attach
    spaces = None

ZERO_GPU = spaces is not None and bool(spaces.config.Config.zero_gpu)  # on a ZeroGPU Space now

# name -> its duration function (seconds from the handler's own arguments), for tests and the README
DURATIONS: dict[str, Callable[..., int]] = {}
MAX_DURATION_S = 300  # the most one call asks for: a visitor's quota is minutes a day


def capped(duration: Callable[..., float]) -> Callable[..., int]:
    """Whole seconds, at most MAX_DURATION_S."""

    def seconds(*args, **kwargs) -> int:
        return int(min(MAX_DURATION_S, math.ceil(duration(*args, **kwargs))))

    return seconds


def on_gpu(name: str, duration: Callable[..., float]):
    """Decorate a handler that runs models; `duration` gets the handler's arguments."""
    seconds = capped(duration)

    def wrap(handler):
        DURATIONS[name] = seconds
        return handler if spaces is None else spaces.GPU(duration=seconds)(handler)

    return wrap


def _number(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# What each handler asks for. Loading a pair onto the GPU and the warm-up take seconds; on a GPU a
# forward pass of either model takes milliseconds, a distillation step well under a second.
def compare_seconds(task=None, text=None, top_k=None, repeats=0, *rest, **kwargs) -> float:
    return 20 + 0.05 * _number(repeats, 0)


def attention_seconds(*args, **kwargs) -> float:
    return 20


def evaluate_seconds(*args, **kwargs) -> float:
    return 60


def distill_seconds(pasted=None, upload=None, layers_text=None, config=None, *rest, **kwargs) -> float:
    """`config`: the run's DistillConfig (a time budget, or a step count)."""
    if config.seconds > 0:  # a time budget: the run plans its steps to fit it
        return 30 + config.seconds
    return 30 + 0.3 * config.steps  # build the student, then ~0.1-0.3 s a step, then compare


def bench_seconds(settings, *rest, **kwargs) -> float:
    """`settings`: the sweep's BenchSettings."""
    points = max(1, len(settings.seq_lens)) * max(1, len(settings.batch_sizes))
    runs_per_point = (settings.repeats + 2) * (4 if settings.baseline else 2)  # warm-up, both models, pipelines
    return 15 + points * (2 + 0.03 * runs_per_point)


def explain_seconds(task=None, text=None, question=None, method="ig", steps=50, *rest, **kwargs) -> float:
    # both models, forward and backward on every interpolation step (two targets for qa)
    return 20 + (0.2 * _number(steps, 50) if method == "ig" else 2)


def reel_seconds(*args, **kwargs) -> float:
    return 30  # integrated gradients (20 steps) and attention for one sentence, both models


def self_check_seconds(*args, **kwargs) -> float:
    return 60
