"""The static page (web/) in Chromium, held to the Python app on the same tiny checkpoints.

The checkpoints are exported with the CLI's `export-web`; `distilbert-demo web`'s server serves the
page, those models and transformers.js / ONNX Runtime Web from the lock file's packages
(web/node_modules, `npm ci`). Every request to another host is aborted and recorded: none is made.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from distilbert_demo import cli, inputs, qa, resources, variants
from distilbert_demo.compare import core as compare
from distilbert_demo.loading import Pair
from distilbert_demo.webpage import export, serve, site

from .conftest import SCREENSHOTS

TASKS, SIDES = ("fill-mask", "sentiment", "qa"), ("bert", "distilbert")
CLOSE = 1e-4  # the bar for fp32: the browser's ONNX Runtime against PyTorch
EXAMPLES = dict(enumerate(resources.example_rows(), 1))


@pytest.fixture(scope="module")
def web_models(tiny_models, tmp_path_factory) -> Path:
    """The tiny checkpoints exported by the CLI, one folder per task and side, as the page loads them."""
    out = tmp_path_factory.mktemp("web-models")
    for task in TASKS:
        for side in SIDES:
            folder = out / export.folder_name(task, side)
            assert cli.main(["export-web", tiny_models[f"{task}-{side}"], str(folder)]) == 0
    return out


def _serve(models: Path, config: dict):
    server = serve.make_server(models, config, port=0)
    serve.serve_in_background(server)
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="module")
def web_url(web_models, tiny_store):
    loaded = {(task, side): getattr(tiny_store.pair(task), side) for task in TASKS for side in SIDES}
    server, url = _serve(web_models, site.site_config(site.local_models(loaded), local=True))
    yield url
    server.shutdown()
    server.server_close()


class Page:
    """One browser tab on the page, every request off localhost aborted and recorded."""

    def __init__(self, browser, url: str, **context):
        self.url = url
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith(self.url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, query: str = "") -> dict | None:
        self.page.goto(self.url + query, wait_until="load")
        return self.settle()

    def settle(self) -> dict | None:
        self.page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)", timeout=180_000)
        return self.page.evaluate("window.lastResult || null")

    def run(self) -> dict | None:
        self.page.evaluate("window.lastResult = null")
        self.page.click("#run")
        self.page.wait_for_function("document.body.dataset.state !== 'running'", timeout=180_000)
        return self.settle()

    def message(self) -> str:
        return self.page.inner_text("#message").strip()

    def close(self):
        self.context.close()
        assert self.outside == [], f"requests left localhost: {self.outside}"
        assert self.errors == [], f"the page threw: {self.errors}"


@pytest.fixture
def page(browser, web_url):
    tab = Page(browser, web_url, viewport={"width": 1280, "height": 720})
    yield tab
    tab.close()


def _app(pair: Pair, row: list[str]) -> dict:
    task, text, question = row
    result = compare.compare_pair(pair, text, repeats=1, warmup=0, question=question or None)
    return result.to_dict()


def _assert_same_predictions(task: str, page_side: dict, app_side: dict, tolerance: float) -> None:
    got, want = page_side["predictions"], app_side["predictions"]
    if task == "fill-mask":
        assert len(got) == len(want)
        for got_mask, want_mask in zip(got, want):
            assert [c["token"] for c in got_mask] == [c["token"] for c in want_mask]
            for g, w in zip(got_mask, want_mask):
                assert g["score"] == pytest.approx(w["score"], abs=tolerance)
    elif task == "sentiment":
        assert [p["label"] for p in got] == [p["label"] for p in want]
        for g, w in zip(got, want):
            assert g["score"] == pytest.approx(w["score"], abs=tolerance)
    else:
        assert [(p["text"], p["start"], p["end"]) for p in got] == [(p["text"], p["start"], p["end"]) for p in want]
        for g, w in zip(got, want):
            assert g["score"] == pytest.approx(w["score"], abs=tolerance)


def _assert_same_agreement(page_result: dict, app_result: dict, tolerance: float) -> None:
    got, want = page_result["agreement"], app_result["agreement"]
    assert got["top1_matches"] == want["top1_matches"]
    assert got["positions"] == want["positions"]
    assert got["topk_overlap"] == pytest.approx(want["topk_overlap"], abs=1e-6)  # the app rounds to 6 places
    if want["js_divergence"] is None:
        assert got["js_divergence"] is None
    else:
        assert got["js_divergence"] == pytest.approx(want["js_divergence"], abs=tolerance)


# Example numbers as the app's links number them: fill-mask (one mask, two masks), sentiment, QA.
@pytest.mark.parametrize("number", [1, 4, 6, 11, 13])
def test_the_page_answers_as_the_app_does_in_fp32(page, number, tiny_store, web_models):
    row = EXAMPLES[number]
    task = row[0]
    result = page.open(f"?example={number}&dtype=fp32&runs=5")
    assert result is not None, page.message()
    want = _app(tiny_store.pair(task), row)
    assert result["task"] == task and result["dtype"] == "fp32"
    for side in SIDES:
        _assert_same_predictions(task, result["models"][side], want["models"][side], CLOSE)
        assert result["models"][side]["num_tokens"] == want["models"][side]["num_tokens"]
    _assert_same_agreement(result, want, CLOSE)

    # Timing measured here, with what measured it.
    device = result["device"]
    assert device["backend"] == "wasm" and "WebAssembly" in device["label"]
    assert device["cross_origin_isolated"] is True and page.page.evaluate("crossOriginIsolated") is True
    assert device["threads"] > 1, "cross-origin isolated on a multi-core machine: WebAssembly gets threads"
    for side in SIDES:
        latency = result["models"][side]["latency_ms"]
        assert latency["runs"] >= 5 and 0 < latency["median_ms"] <= latency["p90_ms"]
        # the download is the files the browser fetched: the layout's small files and the fp32 weights
        folder = web_models / export.folder_name(task, side)
        expected = sum((folder / n).stat().st_size for n in export.LAYOUT if n != export.QUANTIZED)
        assert result["models"][side]["download_bytes"] == expected
        assert result["models"][side]["load_ms"] > 0
    medians = {side: result["models"][side]["latency_ms"]["median_ms"] for side in SIDES}
    speedup = medians["bert"] / medians["distilbert"]
    assert result["speedup"] == pytest.approx(speedup)
    headline = page.page.inner_text("#headline")
    pace = f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"  # tiny models: either
    assert headline.startswith(f"On your device ({device['label']}): DistilBERT {pace}")
    sizes = {side: result["models"][side]["download_bytes"] for side in SIDES}
    smaller = round(abs(1 - sizes["distilbert"] / sizes["bert"]) * 100)
    assert f"{smaller}% {'smaller' if sizes['distilbert'] <= sizes['bert'] else 'larger'} download" in headline


@pytest.mark.parametrize("number", [1, 6])
def test_the_8bit_files_agree_with_the_apps_onnx_int8_variant(page, number, tiny_store, web_models, tmp_path):
    row = EXAMPLES[number]
    task = row[0]
    result = page.open(f"?example={number}&dtype=q8&runs=5")
    assert result is not None, page.message()
    assert result["dtype"] == "q8"
    pair = tiny_store.pair(task)
    int8 = Pair(task, *(variants.as_variant(m, "onnx-int8", tmp_path) for m in pair.sides()))
    want = _app(int8, row)
    for side in SIDES:
        _assert_same_predictions(task, result["models"][side], want["models"][side], CLOSE)
        quantized = web_models / export.folder_name(task, side) / export.QUANTIZED
        assert result["models"][side]["weights_bytes"] == quantized.stat().st_size
    _assert_same_agreement(result, want, CLOSE)


def test_bad_input_gets_the_apps_messages(page):
    page.open("?example=1&runs=5")
    page.page.fill("#text", "")
    page.run()
    assert page.message() == _message(lambda: inputs.check_text("", "fill-mask"))
    page.page.fill("#text", "no mask in this one")
    page.run()
    assert page.message() == _message(lambda: inputs.check_text("no mask in this one", "fill-mask"))
    long = "word " * 2001
    page.page.fill("#text", long)
    page.run()
    assert page.message() == _message(lambda: inputs.check_text(long, "fill-mask"))
    page.page.select_option("#task", "qa")
    page.settle()
    page.page.fill("#question", "Who wrote the report?")
    page.page.fill("#text", "   ")
    page.run()
    assert page.message() == _message(lambda: qa.check_qa("Who wrote the report?", "   "))
    page.page.fill("#question", "")
    page.page.fill("#text", "A context.")
    page.run()
    assert page.message() == _message(lambda: qa.check_qa("", "A context."))
    assert page.page.evaluate("document.body.dataset.state") == "error"


def _message(call) -> str:
    with pytest.raises(inputs.InputError) as raised:
        call()
    return str(raised.value)


def test_a_model_that_fails_to_load_is_named_with_its_reason(browser, web_models, tiny_store):
    loaded = {(task, side): getattr(tiny_store.pair(task), side) for task in TASKS for side in SIDES}
    config = site.site_config(site.local_models(loaded), local=True)
    config["models"]["sentiment"]["bert"]["id"] = "no-such-model"
    server, url = _serve(web_models, config)
    tab = Page(browser, url, viewport={"width": 1280, "height": 720})
    try:
        assert tab.open("?example=6&runs=5") is None
        message = tab.message()
        assert message.startswith("BERT (no-such-model) could not be loaded: ")
        assert len(message) > len("BERT (no-such-model) could not be loaded: ")
        assert tab.open("?example=1&runs=5") is not None, "another task still runs"
    finally:
        tab.close()
        server.shutdown()
        server.server_close()


def test_a_download_that_stalls_fails_with_a_message_instead_of_hanging(page):
    hung = []
    page.page.route("**/sentiment-bert/onnx/model.onnx", lambda route: hung.append(route))  # never answered
    assert page.open("?example=6&stall=2") is None
    assert hung, "the weights were asked for"
    assert page.message() == ("BERT (sentiment-bert) could not be loaded: no data for 2 s: the download stalled")
    for route in hung:
        route.abort()


def test_links_open_a_task_and_a_text_of_ones_own(page):
    result = page.open("?task=sentiment&text=The+room+was+clean.&runs=5")
    assert result["task"] == "sentiment" and result["text"] == "The room was clean."
    assert page.page.input_value("#task") == "sentiment"
    assert page.page.input_value("#example") == ""  # not one of the shipped examples


def test_copy_result_carries_the_figures_and_the_device(browser, web_url):
    clipboard = ["clipboard-read", "clipboard-write"]
    tab = Page(browser, web_url, viewport={"width": 1280, "height": 720}, permissions=clipboard)
    try:
        result = tab.open("?example=6&runs=5")
        tab.page.click("#copy")
        tab.page.wait_for_function("window.copiedText !== undefined")
        copied = tab.page.evaluate("navigator.clipboard.readText()")
        assert copied == tab.page.evaluate("window.copiedText")
        assert copied.splitlines()[0] == result["headline"]
        bert = result["models"]["bert"]["latency_ms"]
        # the page rounds as JavaScript's toFixed does (an exact tie such as 6.125 goes up; Python's
        # format would round it to even): the same double, rounded by the browser itself
        shown = tab.page.evaluate("ms => ms.toFixed(2)", bert["median_ms"])
        assert f"median {shown} ms" in copied
        assert result["device"]["label"] in copied
    finally:
        tab.close()


def _inside(page, selector: str, height: int) -> None:
    for box in [el.bounding_box() for el in page.query_selector_all(selector)]:
        assert box is not None and box["height"] > 0, selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} at {box} is off a {height} px screen"


PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("name", "size", "number"),
    [(name, size, number) for name, size in (("phone", (390, 844)), ("projector", (1280, 720))) for number in (1, 11)],
)
def test_the_verdict_and_both_models_fit_the_screen(browser, web_url, name, size, number):
    width, height = size
    extra = {"user_agent": PHONE_UA, "is_mobile": True, "has_touch": True} if name == "phone" else {}
    tab = Page(browser, web_url, viewport={"width": width, "height": height}, **extra)
    try:
        result = tab.open(f"?example={number}&runs=5")
        assert result is not None, tab.message()
        assert result["dtype"] == ("q8" if name == "phone" else "fp32"), "a phone runs the 8-bit weights by default"
        _inside(tab.page, "#headline", height)
        _inside(tab.page, ".side .bars", height)
        size_px = float(tab.page.evaluate("parseFloat(getComputedStyle(document.querySelector('#headline')).fontSize)"))
        assert size_px >= (16 if name == "phone" else 20)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(SCREENSHOTS / f"web-{name}-{EXAMPLES[number][0]}.png"))
    finally:
        tab.close()


# ---------------------------------------------------------------- the Python side, no browser


def test_export_web_writes_the_layout_transformers_js_loads(web_models, tiny_models):
    for task in TASKS:
        for side in SIDES:
            folder = web_models / export.folder_name(task, side)
            for name in export.LAYOUT:
                assert (folder / name).stat().st_size > 0, f"{folder.name}/{name}"
    config = json.loads((web_models / "sentiment-bert" / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}, "labels as the app shows them (LABEL_0/1 mapped)"


def test_the_servers_headers_isolate_the_page_and_it_serves_nothing_else(web_url):
    with urllib.request.urlopen(web_url) as response:
        headers = response.headers
        assert b"app.js" in response.read()
    for key, value in serve.ISOLATION_HEADERS.items():
        assert headers[key] == value
    with urllib.request.urlopen(web_url + "vendor/" + site.vendor()["ort"]["wasm"]) as response:
        assert response.headers["Content-Type"] == "application/wasm"
    for path in ("models/../../../etc/passwd", "models/%2e%2e/%2e%2e/etc/passwd", "package.json", "node_modules/"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(web_url + path)
        assert refused.value.code == 404


def test_the_web_command_serves_the_checkpoints_it_was_given(web_models, tiny_models, tmp_path):
    """`distilbert-demo web` with the app's flags, its --models folder already holding those exports
    (export-web stamps each folder with its checkpoint), so nothing is exported again."""
    stamps = {p: p.stat().st_mtime_ns for p in web_models.rglob("model.onnx")}
    flags = [f"--{task}-{side}={tiny_models[f'{task}-{side}']}" for task in TASKS for side in SIDES]
    command = [sys.executable, "-m", "distilbert_demo", "web", "--port", "0", "--models", str(web_models), *flags]
    # stderr to a file: a pipe nobody reads fills with the libraries' import-time warnings and blocks the server
    log = tmp_path / "web.log"
    with log.open("w") as err:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("the page: http://127.0.0.1:"), line + log.read_text()
        url = line.split()[2]
        with urllib.request.urlopen(url + "site.json") as response:
            config = json.loads(response.read())
        assert config["local"] is True
        for task in TASKS:
            for side in SIDES:
                entry = config["models"][task][side]
                assert entry["id"] == export.folder_name(task, side)
                assert entry["name"] == tiny_models[f"{task}-{side}"] and entry["source"] == "local"
        assert {p: p.stat().st_mtime_ns for p in web_models.rglob("model.onnx")} == stamps, "exported again"
    finally:
        # SIGTERM, as a host stops it (a job a shell starts in the background ignores SIGINT)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0


def test_web_without_the_packages_says_what_to_run(monkeypatch, tmp_path, capsys):
    (tmp_path / "vendor.json").write_text((site.WEB / "vendor.json").read_text())
    monkeypatch.setattr(site, "WEB", tmp_path)
    assert cli.main(["web", "--port", "0"]) == cli.EXIT_LOAD
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and serve.NPM_CI in err and "\n" not in err


def test_export_web_of_a_missing_folder_is_one_line(tmp_path, capsys):
    assert cli.main(["export-web", str(tmp_path / "nothing-here"), str(tmp_path / "out")]) == cli.EXIT_LOAD
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err


def test_web_space_names_the_repositories_and_carries_the_isolation_headers(tmp_path):
    assert cli.main(["web-space", str(tmp_path), "--sentiment-bert", "someone/bert-sst2-web"]) == 0
    config = json.loads((tmp_path / "site.json").read_text())
    assert config["local"] is False
    assert config["models"]["sentiment"]["bert"]["id"] == "someone/bert-sst2-web"
    assert config["models"]["fill-mask"]["distilbert"]["id"] == site.HUB_COPIES[("fill-mask", "distilbert")]
    assert "bert" not in config["models"]["qa"], "no public copy: left out, and the page says so"
    assert config["examples"] == resources.examples() and config["transformers_js"] == site.transformers_js_version()
    readme = (tmp_path / "README.md").read_text()
    front = readme.split("---")[1]
    assert "sdk: static" in front and "someone/bert-sst2-web" in front
    for key, value in serve.ISOLATION_HEADERS.items():
        if key != "Cross-Origin-Resource-Policy":  # the Space's own files are fetched cross-origin by hf.co
            assert f"{key.lower()}: {value}" in front
    for name in (*site.vendor()["page"], "package-lock.json", "build.mjs"):
        assert (tmp_path / name).is_file()


def test_presenter_mode_offers_the_static_page_to_phones_only_when_configured(browser, tiny_store):
    from distilbert_demo import ui

    address = "https://someone-distilbert-on-device.static.hf.space"
    app = ui.build_app(tiny_store, web_url=address)
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    tab = Page(browser, app.local_url, viewport={"width": 1280, "height": 720})
    try:
        tab.page.goto(app.local_url + "?presenter=1", wait_until="load")
        summary = tab.page.wait_for_selector("#phones summary", state="visible", timeout=60_000)
        box = summary.bounding_box()
        bar = tab.page.query_selector("#view-bar").bounding_box()
        last_tab = tab.page.query_selector_all("[role=tab]")[-1].bounding_box()
        assert box["y"] + box["height"] <= last_tab["y"] + last_tab["height"], "on the tabs' line"
        assert last_tab["x"] + last_tab["width"] <= box["x"] and box["x"] + box["width"] <= bar["x"], "covers nothing"
        summary.click()
        panel = tab.page.wait_for_selector("#phones .phones-panel img", state="visible")
        shown = panel.bounding_box()
        assert shown["width"] >= 400 and shown["y"] + shown["height"] <= 720
        assert address in tab.page.inner_text("#phones .phones-panel")
        assert panel.get_attribute("src").startswith("data:image/svg+xml")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(SCREENSHOTS / "presenter-phones.png"))
        tab.page.uncheck("#presenter-toggle input")
        tab.page.wait_for_selector("#phones summary", state="hidden")
    finally:
        tab.close()
        app.close()


def test_no_phones_link_without_an_address(launched_app, browser):
    tab = Page(browser, launched_app, viewport={"width": 1280, "height": 720})
    try:
        tab.page.goto(launched_app + "?presenter=1", wait_until="load")
        tab.page.wait_for_selector("#presenter-toggle", timeout=60_000)
        assert tab.page.query_selector("#phones") is None
    finally:
        tab.close()


def test_the_web_url_flag_takes_only_an_address():
    from distilbert_demo import ui

    assert ui.parse_args(["--web-url", "https://example.org/x"]).web_url == "https://example.org/x"
    with pytest.raises(SystemExit) as refused:
        ui.parse_args(["--web-url", "javascript:alert(1)"])
    assert refused.value.code == 2
