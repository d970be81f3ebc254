"""ZeroGPU: with `spaces` installed and no ZeroGPU nothing changes; the handlers that run models
ask for a GPU with durations that follow their inputs; GPU timing synchronises before the clock."""

import pytest
import torch

from distilbert_demo import gpu, measure, ui

MODEL_HANDLERS = {"compare", "attention", "explain", "distill", "race", "bench", "evaluate", "reel", "self_check"}


def test_spaces_is_installed_and_does_nothing_off_zero_gpu(tiny_store):
    assert gpu.spaces is not None and gpu.ZERO_GPU is False
    ui.build_app(tiny_store)
    # exactly the handlers that run models, but the ladder: it asks what a CPU deployment can do, and
    # runs on the CPU everywhere (on ZeroGPU too, outside any GPU call)
    assert set(gpu.DURATIONS) == MODEL_HANDLERS and "ladder" not in gpu.DURATIONS


class FakeSpaces:
    """Stands in for `spaces` on ZeroGPU: records the duration each call asks for, as spaces does
    (the duration function gets the handler's own arguments)."""

    def __init__(self):
        self.asked: list[tuple[str, int]] = []

    def GPU(self, duration):  # noqa: N802 - the real decorator's name
        def decorate(handler):
            def call(*args, **kwargs):
                self.asked.append((handler.__name__, duration(*args, **kwargs)))
                return handler(*args, **kwargs)

            return call

        return decorate


@pytest.fixture
def fake_zero_gpu(monkeypatch):
    fake = FakeSpaces()
    monkeypatch.setattr(gpu, "spaces", fake)
    return fake


def test_the_decorated_handlers_run_and_ask_for_their_duration(tiny_store, fake_zero_gpu):
    from distilbert_demo.compare.tab import compare_handler
    from distilbert_demo.distill.tab import distill_handlers

    *_, raw = compare_handler(tiny_store)("fill-mask", "The [MASK] sat.", 3, 40)
    assert raw["models"]["bert"]["latency_ms"]["runs"] == 40  # the handler itself, unchanged
    settings = {"steps": 2, "batch_size": 2, "seq_len": 16, "temperature": 2.0, "alpha_ce": 5.0, "alpha_mlm": 2.0,
                "alpha_cos": 1.0, "lr": 5e-4, "bf16": False}  # fmt: skip
    updates = list(distill_handlers(tiny_store)[0]("", None, "", request=None, **settings))
    assert updates[-1][0].startswith("**Done:**")
    compare_seconds, distill_seconds = gpu.capped(gpu.compare_seconds), gpu.capped(gpu.distill_seconds)
    assert fake_zero_gpu.asked == [("compare", compare_seconds("fill-mask", "", 3, 40)),
                                   ("distill", distill_seconds(steps=2))]  # fmt: skip
    assert fake_zero_gpu.asked[1][1] > compare_seconds(repeats=0)  # a distillation asks for more


def test_durations_follow_the_inputs_and_stay_short():
    seconds = gpu.capped(gpu.distill_seconds)
    assert seconds(steps=40) < seconds(steps=400) <= gpu.MAX_DURATION_S
    assert seconds(steps=10_000) == gpu.MAX_DURATION_S
    bench = gpu.capped(gpu.bench_seconds)
    small = bench(seq_lens=[16], batch_sizes=[1], repeats=5, baseline=False)
    large = bench(seq_lens=[16, 64, 128, 256], batch_sizes=[1, 8], repeats=20, baseline=True)
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
