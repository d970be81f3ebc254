"""Latency and memory measurement mechanics."""

import time

import pytest
import torch

from distilbert_demo import measure


def test_time_interleaved_alternates_order_and_counts_runs():
    calls = []
    runs = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    stats = measure.time_interleaved(runs, repeats=4, warmup=1)
    # warm-up a b, then rounds a b | b a | a b | b a
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    for s in stats.values():
        assert s.runs == 4 and s.warmup == 1
        assert 0 <= s.median_ms <= s.p90_ms


def test_time_interleaved_measures_sleep():
    stats = measure.time_interleaved({"slow": lambda: time.sleep(0.02), "fast": lambda: None}, repeats=5, warmup=0)
    assert stats["slow"].median_ms >= 19
    assert stats["fast"].median_ms < stats["slow"].median_ms


def test_latency_stats_percentiles():
    stats = measure.LatencyStats.from_samples([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], warmup=0)
    assert stats.median_ms == 5.5
    assert stats.p90_ms == pytest.approx(9.1)


def test_time_interleaved_rejects_zero_repeats():
    with pytest.raises(ValueError):
        measure.time_interleaved({"a": lambda: None}, repeats=0)


def test_cpu_peak_memory_sees_a_known_allocation():
    size = 8 * 2**20

    def allocate_then_free():
        buffer = torch.empty(size, dtype=torch.uint8)
        buffer.fill_(1)
        small = torch.ones(1024, dtype=torch.uint8)
        del buffer
        return small

    peak = measure.peak_forward_bytes(allocate_then_free)
    assert size <= peak < size + 2**20


def test_cpu_peak_memory_of_two_live_buffers_adds_up():
    def two_buffers():
        a = torch.zeros(2**20, dtype=torch.float32)  # 4 MiB
        b = torch.zeros(2**20, dtype=torch.float32)  # 4 MiB, both alive
        return a.sum() + b.sum()

    peak = measure.peak_forward_bytes(two_buffers)
    assert 8 * 2**20 <= peak < 9 * 2**20


def test_configure_threads_fixes_the_count():
    before = torch.get_num_threads()
    try:
        assert measure.configure_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
