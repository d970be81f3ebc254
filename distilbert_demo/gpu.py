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


def capped(duration: Callable[..., float] | float) -> Callable[..., int]:
    """Whole seconds, at most MAX_DURATION_S."""

    def seconds(*args, **kwargs) -> int:
        asked = duration(*args, **kwargs) if callable(duration) else duration
        return int(min(MAX_DURATION_S, math.ceil(asked)))

    return seconds


def on_gpu(name: str, duration: Callable[..., float] | float):
    """Decorate a function that runs models: on ZeroGPU it asks for a GPU for `duration` seconds, a
    number or a function of the call's own arguments (declared beside the function, from the same
    settings). Loading a pair onto the GPU and the warm-up take seconds; on a GPU a forward pass of
    either model takes milliseconds, a distillation step well under a second."""
    seconds = capped(duration)

    def wrap(handler):
        DURATIONS[name] = seconds
        return handler if spaces is None else spaces.GPU(duration=seconds)(handler)

    return wrap
