"""The app under ZeroGPU's process model (tests/zerogpu.py: the real `spaces` wrappers, fork per
call, pickled arguments and results), with fresh workers and with reused ones.

Each mode serves app.py on tiny checkpoints in a subprocess; a visitor uses it through the named
endpoints (gradio_client) and in Chromium. What a visitor sees must not depend on which worker ran
a call, and after the time-to-live the server's folder holds nothing a visitor left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client
from playwright.sync_api import expect

from distilbert_demo import gpu
from distilbert_demo.distill import tab as distill_tab
from distilbert_demo.distill.recipe import DistillConfig

from .conftest import SCREENSHOTS, tiny_flags
from .test_cli import ROOT

TTL_S = 20  # short, so that the sweep can be watched; every flow below fits well inside it
DISTILL = ("", None, "", 3, 2, 16, 2.0, 5.0, 2.0, 1.0, 5e-4, False, 0)  # 3 steps, no time budget


class ZeroApp:
    def __init__(self, mode: str, url: str, data_dir: Path, log: Path, process: subprocess.Popen):
        self.mode, self.url, self.data_dir, self.log, self.process = mode, url, data_dir, log, process

    def client(self) -> Client:
        return Client(self.url, verbose=False, download_files=False)

    def events(self, kind: str) -> list[dict]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [event for event in map(json.loads, lines) if event["event"] == kind]

    def files(self) -> list[Path]:
        """What visitors left in the app's folder (the ONNX exports are the server's own cache)."""
        kept = ("students", "downloads", "gradio")
        return [p for p in self.data_dir.rglob("*") if p.is_file() and p.relative_to(self.data_dir).parts[0] in kept]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=["fresh", "reused"])
def zero_app(request, tiny_models, tmp_path_factory):
    mode = request.param
    folder = tmp_path_factory.mktemp(f"zerogpu-{mode}")
    data_dir, log = folder / "app-data", folder / "zerogpu.log"
    port = _free_port()
    flags = tiny_flags(tiny_models)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "DISTILBERT_DEMO_DATA_DIR": str(data_dir),
        "DISTILBERT_DEMO_SESSION_TTL": str(TTL_S),
        "ZEROGPU_EMULATION_LOG": str(log),
    }
    output = (folder / "server.log").open("w")
    command = [sys.executable, "tests/zerogpu.py", mode, *flags, "--port", str(port), "--no-mcp", "--threads", "1"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            Client(url, verbose=False, download_files=False)
            break
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"the app did not start under the emulation:\n{(folder / 'server.log').read_text()}")
            time.sleep(0.5)
    yield ZeroApp(mode, url, data_dir, log, process)
    process.terminate()
    process.wait(timeout=30)
    output.close()
    assert not data_dir.exists()  # the app's folder goes with the server


def _server_path(file_data) -> Path:
    return Path(file_data["path"] if isinstance(file_data, dict) else file_data)


def test_the_models_loaded_before_launch_and_the_workers_follow_the_mode(zero_app):
    client = zero_app.client()
    for _ in range(2):
        client.predict("fill-mask", "The [MASK] sat.", 3, 2, api_name="/compare")
    workers = {event["pid"] for event in zero_app.events("worker")}
    assert len(workers) >= 2 if zero_app.mode == "fresh" else len(workers) == 1
    assert zero_app.process.pid not in workers  # the calls ran in forked workers, not in the server
    assert all(event["seconds"] > 0 for event in zero_app.events("schedule"))


def test_compare_every_task_and_variants_are_refused_with_a_reason(zero_app):
    client = zero_app.client()
    asked = [
        ("fill-mask", "The [MASK] sat.", ""),
        ("sentiment", "A lovely film.", ""),
        ("qa", "Paris is the capital of France.", "What is the capital of France?"),
    ]
    for task, text, question in asked:
        *_, raw = client.predict(task, text, 3, 2, question, api_name="/compare")
        assert raw["task"] == task and raw["models"]["bert"]["latency_ms"]["runs"] == 2
    with pytest.raises(Exception, match="on ZeroGPU the comparison runs on the GPU"):
        client.predict("fill-mask", "The [MASK] sat.", 3, 2, "", None, "int8", api_name="/compare")


def test_attention_explain_bench_evaluate_and_self_check_answer(zero_app):
    client = zero_app.client()
    attention = client.predict("fill-mask", "The dog and the cat.", "", api_name="/attention")
    csv = _server_path(attention[-4])
    assert csv.is_file() and zero_app.data_dir in csv.parents  # written where the server sweeps it
    assert attention[-1]["models"]["distilbert"]["layer_map"] == [0, 2]
    *_, raw = client.predict("sentiment", "A lovely film.", "", "gxi", 5, api_name="/explain")
    assert set(raw["models"]) == {"bert", "distilbert"}
    bench = client.predict("fill-mask", [16], [1], "fp32", 2, False, api_name="/bench")
    assert _server_path(bench[-2]).is_file() and bench[-1]["rows"]
    summary, *_, cases_csv, raw = client.predict(None, api_name="/evaluate")
    assert _server_path(cases_csv).is_file() and raw["models"]["bert"]["accuracy"] >= 0
    assert "pass" in client.predict(api_name="/self_check")


def test_distill_and_race_run_in_a_worker(zero_app):
    client = zero_app.client()
    asked = len(zero_app.events("schedule"))
    status, _, _, summary, archive, *_ = client.predict(*DISTILL, api_name="/distill")
    # the GPU it asked for follows the run's own settings (3 steps, no budget)
    config = DistillConfig(steps=3, batch_size=2, seq_len=16, seconds=0)
    expected = gpu.capped(distill_tab.gpu_seconds)(None, None, None, config)
    assert [event["seconds"] for event in zero_app.events("schedule")[asked:]] == [expected]
    assert status.startswith("**Done:** 3 steps") and "Run finished: 3 steps" in summary
    assert _server_path(archive).is_file() and zero_app.data_dir in _server_path(archive).parents
    status, *_, line = client.predict(*DISTILL, api_name="/race")
    assert status.startswith("**Race finished:** After 3 steps each") and "(teacher-initialised)" in status
    assert line == "", "the verdict is said once, in the status line"


def test_a_visitor_distils_uses_the_student_stops_a_run_and_steps_the_reel(zero_app, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(zero_app.url, wait_until="load")
    page.get_by_role("tab", name="Distill").click()
    for name, value in (("seconds", "0"), ("steps", "4")):
        box = page.locator(f"#distill-{name} input[type=number]")
        box.fill(value)
        box.press("Enter")
    page.locator("#distill-start").click()
    expect(page.locator("#distill-summary")).to_contain_text("Run finished: 4 steps", timeout=120_000)
    page.locator("#distill-use").click()
    expect(page.locator("#distill-used")).to_contain_text("now use your distilled student")

    # the student answers in Compare and in Attention, twice (a fresh worker or the same one)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#input-text textarea").fill("The cat sat on the [MASK].")
    for _ in range(2):
        page.locator("#run-button").click()
        expect(page.locator("#distilbert-metrics")).to_contain_text("distilled student", timeout=60_000)
        expect(page.locator("#notice")).not_to_contain_text("no longer on this server")
    page.get_by_role("tab", name="Attention").click()
    page.locator("#attention-run").click()
    expect(page.locator("#distil-model-view img")).to_be_visible(timeout=60_000)
    expect(page.locator("#attention-notice")).not_to_contain_text("no longer on this server")
    # a redraw from the kept state (in the server, no model runs)
    page.locator("#distil-layer input[type=number]").fill("1")
    page.locator("#distil-layer input[type=number]").press("Enter")
    expect(page.locator("#distil-head-map")).to_contain_text("DistilBERT layer 1 head 0", timeout=20_000)
    page.screenshot(path=SCREENSHOTS / f"zerogpu-{zero_app.mode}-attention-student.png")

    # Stop during a run: the worker sees the click and the run ends between two steps
    page.get_by_role("tab", name="Distill").click()
    box = page.locator("#distill-steps input[type=number]")
    box.fill("1000")
    box.press("Enter")
    page.locator("#distill-start").click()
    expect(page.locator("#distill-status")).to_contain_text("Step ", timeout=60_000)
    page.locator("#distill-stop").click()
    expect(page.locator("#distill-status")).to_contain_text("Stop", timeout=30_000)
    deadline = time.monotonic() + 30
    while list((zero_app.data_dir / "stops").glob("*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list((zero_app.data_dir / "stops").glob("*"))  # the run ended and its flag is gone

    # Evaluate, then step through the reel
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#evaluate-run").click()
    expect(page.locator("#evaluate-summary")).to_contain_text("Retention", timeout=120_000)
    page.get_by_role("tab", name="Disagreement reel").click()
    case = page.locator("#reel-case")
    expect(case).to_contain_text("Disagreement 1 of", timeout=120_000)
    page.locator("#reel-next").click()
    expect(case).to_contain_text("Disagreement 2 of", timeout=60_000)
    expect(page.locator("#reel-saliency .js-plotly-plot")).to_be_visible(timeout=60_000)
    page.screenshot(path=SCREENSHOTS / f"zerogpu-{zero_app.mode}-reel.png")
    page.close()


def test_after_the_time_to_live_the_disk_holds_nothing_a_visitor_left(zero_app):
    """Downloads made by a call (and the students of the flows above) are the server's to sweep: the
    workers that made them are taken back at once, and the server's own sweep still removes them."""
    client = zero_app.client()
    made = _server_path(client.predict("fill-mask", "The dog and the cat.", "", api_name="/attention")[-4])
    assert made.is_file()  # checked at once: on a loaded machine a later call can outlast the TTL
    for pid in {event["pid"] for event in zero_app.events("worker")}:  # ZeroGPU takes its workers back:
        with contextlib.suppress(ProcessLookupError):  # only the server's own sweep is left
            os.kill(pid, signal.SIGKILL)
    time.sleep(TTL_S + TTL_S / 2 + 5)  # the TTL passes, then the sweepers run
    assert zero_app.files() == []
    assert zero_app.process.poll() is None  # and the server is still up
