"""A shared public server: many visitors at once, a heavy job beside them, a full queue, no leaks.

Figures (end-to-end latency under load, memory) are printed and written to
artifacts/load_report.json; the asserts check correctness and bounds, not speed.
"""

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from gradio_client import Client

from distilbert_demo import ui
from distilbert_demo.compare import core as compare
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.distill import core as distill_session
from distilbert_demo.distill import tab as ui_distill

USERS = int(os.environ.get("LOAD_USERS", "16"))
REQUESTS_PER_USER = int(os.environ.get("LOAD_REQUESTS", "5"))
REPORT = Path(__file__).resolve().parent.parent / "artifacts" / "load_report.json"
REQUESTS = [
    ("fill-mask", "The [MASK] sat on the mat."),
    ("sentiment", "The food was delicious and the staff were wonderful."),
    ("fill-mask", "After the storm, the [MASK] was covered in snow and the roads were [MASK]."),
    ("sentiment", "This movie was a complete waste of time."),
    ("fill-mask", "She poured a cup of [MASK]."),
]


def rss_mib() -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _report(key: str, value: dict) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    data[key] = value
    REPORT.write_text(json.dumps(data, indent=2))
    print(key, value)


def test_many_visitors_get_the_answers_they_would_get_alone(launched_app, tiny_store):
    alone = {
        (task, text): compare.compare_pair(tiny_store.pair(task), text, top_k=3, repeats=1).to_dict()
        for task, text in REQUESTS
    }
    sweep_done = threading.Event()
    served_during_sweep = []

    def heavy_job():
        client = Client(launched_app, verbose=False, download_files=False)
        client.predict("fill-mask", [16, 32, 64, 128], [1, 4], "fp32", 5, True, api_name="/bench")
        sweep_done.set()

    def visitor(user: int):
        client = Client(launched_app, verbose=False, download_files=False)
        results = []
        for i in range(REQUESTS_PER_USER):
            task, text = REQUESTS[(user + i) % len(REQUESTS)]
            started = time.perf_counter()
            *_, raw = client.predict(task, text, 3, 1, api_name="/compare")
            results.append((task, text, raw, time.perf_counter() - started))
            if not sweep_done.is_set():
                served_during_sweep.append(1)
        return results

    heavy = threading.Thread(target=heavy_job)
    heavy.start()
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        everyone = [r for results in pool.map(visitor, range(USERS)) for r in results]
    heavy.join(timeout=300)
    assert sweep_done.is_set()
    assert len(everyone) == USERS * REQUESTS_PER_USER
    for task, text, raw, _ in everyone:
        assert "error" not in raw, raw
        for side in ("bert", "distilbert"):
            assert raw["models"][side]["predictions"] == alone[(task, text)]["models"][side]["predictions"]
    assert served_during_sweep, "no comparison was served while the benchmark sweep ran"
    seconds = np.array([r[3] for r in everyone])
    _report(
        "compare_under_load",
        {
            "users": USERS,
            "requests": len(everyone),
            "p50_s": round(float(np.percentile(seconds, 50)), 3),
            "p95_s": round(float(np.percentile(seconds, 95)), 3),
            "max_s": round(float(seconds.max()), 3),
            "served_during_sweep": len(served_during_sweep),
        },
    )


def test_a_full_queue_says_busy(tiny_store):
    """Past the queue limit a visitor is told to try again, instead of memory growing without bound."""
    app = ui.build_app(tiny_store)
    app.queue(default_concurrency_limit=1, max_size=2)
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        import time

        clients = [Client(app.local_url, verbose=False, download_files=False) for _ in range(16)]
        # A first wave fills the queue; requests arriving while it is full are turned away. (Gradio
        # checks the size before it runs an event's validator and enqueues after it, so requests that
        # arrive in the same instant can all get in: the limit holds against a crowd, not a burst.)
        jobs = [c.submit("fill-mask", "The [MASK] sat.", 3, 200, api_name="/compare") for c in clients[:4]]
        time.sleep(1.0)
        jobs += [c.submit("fill-mask", "The [MASK] sat.", 3, 200, api_name="/compare") for c in clients[4:]]
        errors = []
        for job in jobs:
            try:
                job.result(timeout=120)
            except Exception as err:  # noqa: BLE001 - the client raises what the server said
                errors.append(str(err))
        assert errors, "no request was turned away by a queue of 2"
        assert all("queue is full" in e.lower() or "try again" in e.lower() for e in errors), errors
        assert len(errors) < len(jobs)  # the others were served
    finally:
        app.close()


def test_no_leak_over_300_comparisons(tiny_store):
    run = compare_handler(tiny_store)
    for i in range(20):
        run(*REQUESTS[i % len(REQUESTS)], 3, 1)
    after_20 = rss_mib()
    for i in range(280):
        run(*REQUESTS[i % len(REQUESTS)], 3, 1)
    after_300 = rss_mib()
    _report("memory_300_compares", {"after_20_mib": round(after_20, 1), "after_300_mib": round(after_300, 1)})
    assert after_300 <= after_20 * 1.10


def test_a_stopped_distillation_gives_its_memory_back(tiny_store):
    """A teacher with a full-size vocabulary: the run's student and Adam state are ~100 MiB."""
    from transformers import BertConfig, BertForMaskedLM

    from distilbert_demo.distill.recipe import DistillConfig
    from distilbert_demo.loading import LoadedModel
    from distilbert_demo.twins import twin_tokenizer

    tokenizer = twin_tokenizer("bert", 30522)
    teacher_model = BertForMaskedLM(
        BertConfig(vocab_size=30522, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512)
    ).eval()
    teacher = LoadedModel("fill-mask", "bert", "medium teacher", "local", teacher_model, tokenizer)
    distill_session.release_memory()
    before = rss_mib()
    distiller = distill_session.make_distiller(teacher, DistillConfig(steps=200, batch_size=4, seq_len=32))
    stop = threading.Event()
    peak = before
    for report in distiller.run(stop):
        peak = max(peak, rss_mib())
        if report.step == 5:
            stop.set()
    assert distiller.result.stopped and len(distiller.result.history) == 5
    del distiller, report
    distill_session.release_memory()
    after = rss_mib()
    _report(
        "memory_stopped_distillation",
        {"before_mib": round(before, 1), "peak_mib": round(peak, 1), "after_mib": round(after, 1)},
    )
    assert peak - before > 50  # the run really held memory
    assert after - before < 0.25 * (peak - before)  # and gave (nearly) all of it back
    assert ui_distill.ACTIVE_RUNS == {}
