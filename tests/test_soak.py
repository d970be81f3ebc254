"""A server that runs for weeks, compressed: many sessions against a local app (tiny checkpoints),
then the sessions end and the time-to-live passes. Disk and memory must come back.

Prints its figures (the README quotes them).
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from gradio_client import Client

from .conftest import tiny_flags
from .test_cli import ROOT

TTL_S, CAP, SESSIONS = 10, 3, 20
# More sessions than SESSIONS and more students than CAP (each kind about 25 s of the machine's time)
ROUNDS = {"distill": 10, "attention": 12, "bench": 20, "evaluate": 8}
LONG_TEXT = "dog " * 600  # cut to 512 tokens
DISTILL = ("", None, "", 2, 2, 16, 2.0, 5.0, 2.0, 1.0, 5e-4, False, 0)  # 0: a step count, no time budget


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def start_server(tiny_models, data_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flags = tiny_flags(tiny_models)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "DISTILBERT_DEMO_DATA_DIR": str(data_dir),
        "DISTILBERT_DEMO_SESSION_TTL": str(TTL_S),
        "DISTILBERT_DEMO_MAX_STUDENTS": str(CAP),
        "DISTILBERT_DEMO_MAX_SESSIONS": str(SESSIONS),
    }
    command = [sys.executable, "app.py", *flags, "--port", str(port), "--no-mcp"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            visitor(url)
            return server, url
        except Exception:  # noqa: BLE001 - not up yet
            assert time.monotonic() < deadline and server.poll() is None, "the app did not start"
            time.sleep(0.5)


def visitor(url: str) -> Client:
    """A new session; files are not downloaded (gradio_client leaves an empty temp folder for each)."""
    return Client(url, verbose=False, download_files=False)


CALLS = {
    "distill": lambda url: visitor(url).predict(*DISTILL, api_name="/distill"),
    "attention": lambda url: visitor(url).predict("fill-mask", LONG_TEXT, "", api_name="/attention"),
    "bench": lambda url: visitor(url).predict("fill-mask", [16], [1], "fp32", 2, False, api_name="/bench"),
    "evaluate": lambda url: visitor(url).predict(None, api_name="/evaluate"),
}


def test_disk_and_memory_come_back(tiny_models, tmp_path):
    data_dir = tmp_path / "app-data"
    server, url = start_server(tiny_models, data_dir)
    students = data_dir / "students"
    peak = {"students": 0, "zips_in_gradio_cache": 0}
    stop = threading.Event()

    def watch():  # samples the folder while the load runs
        while not stop.is_set():
            on_disk = len(list(students.iterdir())) if students.exists() else 0  # one folder a student
            peak["students"] = max(peak["students"], on_disk)
            zips = [p for p in files_under(data_dir / "gradio") if p.suffix == ".zip"]
            peak["zips_in_gradio_cache"] = max(peak["zips_in_gradio_cache"], len(zips))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for kind, call in CALLS.items():  # one of everything first
            assert call(url), kind
        for _ in range(CAP):  # then students back to back, more than the cap within one time-to-live
            CALLS["distill"](url)
        after_first = rss_mib(server.pid)
        started = time.monotonic()
        counts = dict.fromkeys(ROUNDS, 1) | {"distill": 1 + CAP}
        while any(counts[kind] < total for kind, total in ROUNDS.items()):
            for kind, total in ROUNDS.items():
                if counts[kind] < total:
                    CALLS[kind](url)
                    counts[kind] += 1
        load_s = time.monotonic() - started
        at_peak_files = len(files_under(data_dir))
        time.sleep(TTL_S + max(1, TTL_S // 2) + 3)  # the TTL passes, then the sweepers run
        leftover = files_under(data_dir)
        at_end = rss_mib(server.pid)
    finally:
        stop.set()
        watcher.join()
        server.terminate()
        server.wait(timeout=30)
    print(
        f"soak: {sum(ROUNDS.values())} sessions in {load_s:.0f} s; students on disk at most {peak['students']} "
        f"(cap {CAP}); student zips copied into Gradio's cache: {peak['zips_in_gradio_cache']}; files before the "
        f"TTL passed: {at_peak_files}, after: {len(leftover)}; RSS after the first round {after_first:.0f} MiB, "
        f"at the end {at_end:.0f} MiB ({at_end / after_first - 1:+.1%})"
    )
    assert peak["students"] <= CAP
    assert peak["zips_in_gradio_cache"] == 0  # served from the app's folder, not copied
    assert leftover == [], leftover[:5]
    assert at_end <= 1.10 * after_first
    assert not data_dir.exists()  # and the whole folder goes when the server is stopped (SIGTERM)
