"""What the server keeps per visitor (kept.py): one budget for all, least recently used first, a
clear message for a visitor whose view went, and never another visitor's view."""

from types import SimpleNamespace

import numpy as np
import psutil
import pytest

from distilbert_demo import kept, storage
from distilbert_demo.attention import session as attention_session
from distilbert_demo.attention.tab import attention_handlers, redraw
from distilbert_demo.kept import KEPT, Kept, size_of

MiB = 2**20


def test_size_of_counts_the_arrays_a_view_holds(tiny_store):
    state = attention_session.compact(attention_session.analyse(tiny_store.pair("fill-mask"), "The cat sat.", ""))
    arrays = state.bert.attentions.nbytes + state.distilbert.attentions.nbytes + state.divergence.nbytes
    assert arrays <= size_of(state) <= arrays + int(state.summaries.memory_usage(deep=True).sum()) + 64 * 1024
    assert size_of(np.zeros((1000, 1000), np.float16)) == 2_000_000


def test_the_least_recently_used_go_first_and_the_sum_stays_within_the_budget():
    views = Kept(budget=3 * MiB, ttl_s=3600)
    keys = [views.put(f"visitor-{i}", np.zeros(MiB // 2, np.float16)) for i in range(3)]  # 1 MiB each
    assert views.used <= 3 * MiB and len(views) == 3
    views.get("visitor-0", keys[0], "Show attention")  # visitor 0 comes back: visitor 1 is now the oldest
    views.put("visitor-3", np.zeros(MiB // 2, np.float16))
    assert views.used <= 3 * MiB and views.evicted == 1
    with pytest.raises(LookupError, match="This view expired on the server .* press Show attention again"):
        views.get("visitor-1", keys[1], "Show attention")
    assert views.get("visitor-0", keys[0], "Show attention").nbytes == MiB
    views.put("greedy", np.zeros(4 * MiB, np.uint8))  # larger than the whole budget: not kept
    assert views.used <= 3 * MiB


def test_another_visitors_key_reads_as_expired_and_replace_recounts():
    views = Kept(budget=10 * MiB, ttl_s=3600)
    key = views.put("alice", np.zeros(MiB, np.uint8))
    with pytest.raises(LookupError):
        views.get("mallory", key, "Show attention")
    views.replace("alice", key, np.zeros(2 * MiB, np.uint8), "Show attention")
    assert views.used == 2 * MiB and views.get("alice", key, "x").nbytes == 2 * MiB
    views.forget_session("alice")
    assert views.used == 0 and len(views) == 0


def test_views_older_than_the_time_to_live_go():
    views = Kept(budget=10 * MiB, ttl_s=60)
    key = views.put("alice", np.zeros(10, np.uint8))
    views.sweep(now=kept.time.monotonic() + 30)
    assert views.get("alice", key, "x") is not None
    views.sweep(now=kept.time.monotonic() + 61)
    assert len(views) == 0 and views.used == 0


def test_the_storage_sweeper_also_sweeps_the_kept_views():
    assert KEPT.sweep in storage.STORAGE._also_sweep


def test_many_visitors_extract_and_redraw_within_a_small_budget(tiny_store, monkeypatch):
    """A soak on tiny checkpoints: 24 visitors each extract a 512-token text and redraw it. The kept
    views never exceed the budget (the app's own count, and the process's resident memory, whose
    growth would be 24 views' worth without it); evicted visitors are told so; the others' redraws
    are their own view, drawn as a fresh redraw of it would be."""
    budget = 24 * MiB
    monkeypatch.setattr(KEPT, "budget", budget)
    for key in list(KEPT._views):
        KEPT._drop(key)
    analyse = attention_handlers(tiny_store)[0]
    words = ["dog", "cat", "house", "city", "river", "car", "book", "hotel"]

    def text(i: int) -> str:  # each visitor's own word, so that a view shows whose it is
        return f"the {words[i % len(words)]} sat by the road " * 80  # cut to 512 tokens

    one = size_of(attention_session.compact(attention_session.analyse(tiny_store.pair("fill-mask"), text(0), "")))
    visitors = [SimpleNamespace(session_hash=f"soak-{i}") for i in range(24)]
    assert 24 * one > 4 * budget  # without the budget the views would take four times as much
    storage.release_memory()
    before = psutil.Process().memory_info().rss
    keys, peak_used = {}, 0
    for i, visitor in enumerate(visitors):
        keys[visitor.session_hash] = analyse("fill-mask", text(i), "", None, visitor)[0]
        peak_used = max(peak_used, KEPT.used)
        *_, line = redraw(keys[visitor.session_hash], 1, 1, 0, 1, False, 0.0, visitor)
        assert "expired" not in line  # a visitor's own view, just made, is there
    storage.release_memory()
    grown = psutil.Process().memory_info().rss - before
    assert peak_used <= budget and KEPT.used <= budget
    assert grown < budget + 64 * MiB, f"resident memory grew {grown / MiB:.0f} MiB for a {budget / MiB:.0f} MiB budget"
    expired = kept_ones = 0
    for i, visitor in enumerate(visitors):
        *figs, line = redraw(keys[visitor.session_hash], 2, 3, 1, 2, False, 0.0, visitor)
        if "This view expired on the server" in line:
            expired += 1
            assert "press Show attention again" in line
            continue
        kept_ones += 1
        assert list(figs[0].layout.xaxis.ticktext[:3]) == ["[CLS]", "the", words[i % len(words)]]  # their own
        state = KEPT.get(visitor.session_hash, keys[visitor.session_hash], "Show attention")
        reference = attention_session.compact(attention_session.analyse(tiny_store.pair("fill-mask"), text(i), ""))
        assert np.array_equal(state.bert.attentions, reference.bert.attentions)  # as extracted, not mixed up
    assert expired >= len(visitors) - budget // one and kept_ones >= 1  # the most recent ones stayed
    # someone else's key is never drawn
    *_, line = redraw(keys[visitors[-1].session_hash], 0, 0, 0, 0, False, 0.0, SimpleNamespace(session_hash="soak-0"))
    assert "This view expired on the server" in line
