"""The operator's checkpoints' ONNX exports (and compiled packages: tests/ladder/test_core.py)
outlive a restart; a visitor's student's do not; the folder holding them is capped (storage.py:
KEPT_EXPORTS, prune_exports)."""

from __future__ import annotations

import copy
import os
import time

import torch

from distilbert_demo import storage, variants


def test_a_kept_export_is_reused_by_the_next_server_and_a_changed_checkpoint_is_not(tiny_store, tmp_path):
    model = tiny_store.pair("sentiment").distilbert
    first = variants.export_onnx(model, variants.cache_folder(model, tmp_path))
    written = first.stat().st_mtime_ns
    time.sleep(0.01)
    # A restarted server: nothing in memory, the same folder on disk.
    variants.KEPT._built.clear()
    again = variants.build(model, "onnx-fp32", tmp_path)
    assert variants.cache_folder(model, tmp_path) / "model.onnx" == first
    assert first.stat().st_mtime_ns == written, "exported again"
    assert again.forward is not None
    changed = copy.copy(model)
    changed.model = copy.deepcopy(model.model)
    with torch.no_grad():
        next(changed.model.parameters()).add_(1e-3)
    assert variants.cache_folder(changed, tmp_path) != variants.cache_folder(model, tmp_path)


def test_students_stay_in_the_apps_folder_and_the_operators_checkpoints_in_the_kept_one(tiny_store):
    operator = tiny_store.pair("fill-mask").bert
    assert storage.build_cache(operator) == storage.KEPT_EXPORTS
    assert str(storage.KEPT_EXPORTS) == os.environ["DISTILBERT_DEMO_CACHE_DIR"], "tests never write ~/.cache"
    student = copy.copy(operator)
    student.name = str(storage.STORAGE.root / "students" / "abc123" / "model")
    assert storage.build_cache(student) == storage.STORAGE.root / "builds"


def test_the_least_recently_used_exports_go_past_the_cap(tmp_path):
    for n, name in enumerate(["old", "middle", "new"]):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"x" * 1000)
        os.utime(folder, (1_000_000 + n, 1_000_000 + n))
    removed = storage.prune_exports(tmp_path, max_bytes=2000)
    assert removed == [tmp_path / "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "new"]
    assert storage.prune_exports(tmp_path, max_bytes=2000) == []
