"""ZeroGPU as it really runs, on a CPU: the `spaces` package's own wrappers, with only its scheduler
client and its CUDA transfer replaced (DESIGN.md, Hosting; `spaces` 0.51.x).

What stays the package's own: every call of a `@spaces.GPU` function goes to a worker made with
`multiprocessing.get_context("fork").Process` (spaces/zero/wrappers.py, `Worker`); its arguments and
Gradio's request context are pickled into it, its result (each yielded item of a generator) is
pickled back, a `gr.Error` raised there is raised again in the server, progress goes back over the
package's queue RPC, and a worker is kept after a call and reused when the scheduler says it is idle.
What is replaced: `spaces.zero.client`'s calls to the ZeroGPU device API (`schedule`, `allow`,
`release`, `startup_report`, `duration_warning`, `get_duration_seconds`) and `spaces.zero.torch`
(`patch`/`pack`/`move` of CUDA tensors: there is no GPU here).

    python tests/zerogpu.py {fresh|reused} APP_FLAGS...   serves app.py under the emulation

`fresh`: the scheduler never reports the kept worker idle, so every call forks a new worker (a busy
Space); `reused`: it always does, so one worker serves every call of a handler (a quiet Space).
With ZEROGPU_EMULATION_LOG set, each scheduled call (in the server: its duration) and each worker's
start (in the worker: its pid) is appended to that file as a JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import types
from datetime import timedelta
from pathlib import Path

MODES = ("fresh", "reused")


def _log(**event) -> None:
    path = os.environ.get("ZEROGPU_EMULATION_LOG")
    if path:
        with Path(path).open("a") as out:  # one short line per write: appends from two processes stay whole
            out.write(json.dumps(event) + "\n")


def _no_cuda_module() -> types.ModuleType:
    """spaces.zero.torch without a GPU: nothing to patch, pack or move."""
    module = types.ModuleType("spaces.zero.torch")
    for name in ("enter_mode", "patch", "unpatch", "init", "move"):
        setattr(module, name, lambda *args, **kwargs: None)
    module.pack = module.size = lambda *args, **kwargs: 0
    module.is_in_bad_fork = lambda *args, **kwargs: False
    return module


def install(mode: str) -> None:
    """Turn on ZeroGPU in this process (before the app, gradio or torch is imported)."""
    if mode not in MODES:
        raise ValueError(f"mode is one of {MODES}, not {mode!r}")
    if "spaces" in sys.modules:
        raise RuntimeError("install() must run before `spaces` is imported")
    os.environ["SPACES_ZERO_GPU"] = "true"
    os.environ["SPACES_ZERO_DEVICE_API_URL"] = "http://127.0.0.1:9/never-called"
    sys.modules["spaces.zero.torch"] = _no_cuda_module()
    import spaces  # noqa: F401 - spaces.zero reads the settings above at import
    from spaces.zero import client
    from spaces.zero.api import ScheduleResponse

    def schedule(task_id, request=None, duration: timedelta | None = None, gpu_size=None, **_):
        _log(event="schedule", task=task_id, seconds=None if duration is None else duration.total_seconds())
        return ScheduleResponse(idle=mode == "reused", nvidiaIndex=0, nvidiaUUID="emulated", allowToken="emulated")

    client.schedule = schedule
    client.allow = lambda allow_token: _log(event="worker", pid=os.getpid())  # runs in each new worker
    client.release = lambda *args, **kwargs: None
    client.startup_report = lambda: None
    client.duration_warning = lambda: None
    client.get_duration_seconds = lambda duration, gpu_size: duration.total_seconds() if duration else 60


def main(argv: list[str]) -> None:
    mode, *flags = argv
    install(mode)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from distilbert_demo import gpu, ui

    assert gpu.ZERO_GPU, "the emulation did not turn ZeroGPU on"
    ui.main(flags)


if __name__ == "__main__":
    main(sys.argv[1:])
