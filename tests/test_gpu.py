"""ZeroGPU: with `spaces` installed and no ZeroGPU nothing changes; the handlers that run models
ask for a GPU with durations that follow their inputs; GPU timing synchronises before the clock.
The handlers under ZeroGPU's own process model are test_zerogpu.py's."""

import math

import torch

from distilbert_demo import gpu, measure, ui
from distilbert_demo.bench import tab as bench_tab
from distilbert_demo.bench.core import BenchSettings
from distilbert_demo.distill import tab as distill_tab
from distilbert_demo.distill.recipe import DistillConfig

MODEL_HANDLERS = {"compare", "attention", "explain", "distill", "race", "bench", "evaluate", "reel", "self_check"}


def test_spaces_is_installed_and_does_nothing_off_zero_gpu(tiny_store):
    assert gpu.spaces is not None and gpu.ZERO_GPU is False
    ui.build_app(tiny_store)
    # exactly the handlers that run models, but the ladder: it asks what a CPU deployment can do, and
    # runs on the CPU everywhere (on ZeroGPU too, outside any GPU call)
    assert set(gpu.DURATIONS) == MODEL_HANDLERS and "ladder" not in gpu.DURATIONS


def test_durations_follow_the_inputs_and_stay_short():
    """What the handlers ask for is checked where they really run, under the emulation (test_zerogpu.py)."""
    seconds = gpu.capped(distill_tab.gpu_seconds)
    steps = [seconds(None, None, None, DistillConfig(steps=n, seconds=0)) for n in (40, 400, 10_000)]
    assert steps[0] < steps[1] <= gpu.MAX_DURATION_S and steps[2] == gpu.MAX_DURATION_S
    # from the run's own settings: the recipe's 40 steps, or the page's one-minute budget and 30 s to build and measure
    assert seconds(None, None, None, DistillConfig()) == 30 + math.ceil(0.3 * DistillConfig().steps) == 42
    assert seconds(None, None, None, DistillConfig(seconds=60)) == 90
    bench = gpu.capped(bench_tab.gpu_seconds)
    small = bench(BenchSettings(seq_lens=[16], batch_sizes=[1], repeats=5, baseline=False))
    large = bench(BenchSettings(seq_lens=[16, 64, 128, 256], batch_sizes=[1, 8], repeats=20, baseline=True))
    assert 0 < small < large <= gpu.MAX_DURATION_S


def test_gpu_timing_synchronises_before_reading_the_clock(monkeypatch):
    events = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: events.append("sync"))
    runs = {"a": lambda: events.append("a"), "b": lambda: events.append("b")}
    stats = measure.time_interleaved(runs, repeats=3, warmup=1, device=torch.device("cuda"))
    assert stats["a"].runs == stats["b"].runs == 3
    timed = events[events.index("sync") + 1 :]  # after the warm-up's synchronisation
    assert timed == ["a", "sync", "b", "sync", "b", "sync", "a", "sync", "a", "sync", "b", "sync"]


def test_figures_say_what_measured_them():
    label = measure.device_label("cpu")
    assert label.startswith("CPU (") and label.endswith(f"{torch.get_num_threads()} threads")
