"""A person's view: Playwright drives Debian's Chromium against the launched app.

Screenshots land in artifacts/screenshots/ (look at them: a page can pass and still look wrong).
"""

import re

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS


@pytest.fixture(scope="module")
def page(browser, launched_app):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(launched_app)
    yield page
    page.close()


def test_type_run_and_see_both_columns(page):
    box = page.locator("#input-text textarea")
    box.fill("The doctor worked in the [MASK] all night.")
    page.locator("#run-button").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("DistilBERT:", timeout=60_000)
    for side in ("bert", "distilbert"):
        expect(page.locator(f"#{side}-metrics")).to_contain_text("Latency median")
        expect(page.locator(f"#{side}-predictions .js-plotly-plot")).to_be_visible()
    expect(page.locator("#banner")).to_contain_text("threads")
    page.screenshot(path=SCREENSHOTS / "compare-fill-mask.png", full_page=True)


def test_bad_input_shows_a_message_and_html_stays_text(page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.locator("#input-text textarea").fill("<img src=x onerror=alert(1)><script>alert(2)</script>")
    page.locator("#run-button").click()
    # the validator puts the message next to the box, before any model runs
    expect(page.locator("#input-text")).to_contain_text("needs at least one [MASK]", timeout=30_000)
    assert page.locator("#input-text img").count() == 0
    page.screenshot(path=SCREENSHOTS / "compare-bad-input.png", full_page=True)
    assert dialogs == []


def test_sentiment_example_click(page):
    page.get_by_text("Sentiment", exact=False).first.wait_for()
    page.get_by_role("radio", name="sentiment").check()
    page.locator("#input-text textarea").fill("The staff were wonderful and the food was delicious.")
    page.locator("#run-button").click()
    expect(page.locator("#bert-metrics")).to_contain_text("Latency median", timeout=60_000)
    expect(page.locator("#notice")).to_have_text("")
    page.screenshot(path=SCREENSHOTS / "compare-sentiment.png", full_page=True)


def _click_cell(page, selector, layer, head):
    """Click the centre of (layer, head) in a model view image, scaled to its drawn size."""
    from distilbert_demo.attention.figures import CELL, cell_origin

    image = page.locator(f"{selector} img")
    box = image.bounding_box()
    natural_w, natural_h = image.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    left, top = cell_origin(layer, head)
    x = (left + CELL / 2) * box["width"] / natural_w
    y = (top + CELL / 2) * box["height"] / natural_h
    image.click(position={"x": x, "y": y})


def test_attention_tab_run_and_click_through_layers(page):
    page.get_by_role("tab", name="Attention").click()
    page.locator("#attention-text textarea").fill("The dog chased the cat into the house.")
    page.locator("#attention-run").click()
    expect(page.locator("#distil-model-view img")).to_be_visible(timeout=60_000)
    expect(page.locator("#bert-head-map .js-plotly-plot")).to_be_visible()
    expect(page.locator("#bert-head-map")).to_contain_text("BERT layer 0 head 0")
    page.screenshot(path=SCREENSHOTS / "attention-layer0.png", full_page=True)

    # a click in DistilBERT's model view selects that head; BERT follows to the layer it came from
    _click_cell(page, "#distil-model-view", layer=1, head=2)
    expect(page.locator("#distil-head-map")).to_contain_text("DistilBERT layer 1 head 2", timeout=20_000)
    expect(page.locator("#bert-head-map")).to_contain_text("BERT layer 2 head 2", timeout=20_000)
    expect(page.locator("#alignment")).to_contain_text("DistilBERT layer 1 is shown next to BERT layer 2")
    page.screenshot(path=SCREENSHOTS / "attention-layer1.png", full_page=True)

    # then another BERT layer through its model view
    _click_cell(page, "#bert-model-view", layer=3, head=0)
    expect(page.locator("#bert-head-map")).to_contain_text("BERT layer 3 head 0", timeout=20_000)
    # the text names the layer the map shows (it used to keep naming the DistilBERT layer's source)
    expect(page.locator("#alignment")).to_contain_text("DistilBERT layer 1 is shown next to BERT layer 3 (not its")
    expect(page.locator("#attention-summaries .js-plotly-plot")).to_be_visible()
    expect(page.locator("#best-matches")).to_contain_text("DistilBERT layer")
    page.screenshot(path=SCREENSHOTS / "attention-bert-layer3.png", full_page=True)


def test_distill_tab_curve_grows_then_student_is_used(page):
    page.get_by_role("tab", name="Distill").click()
    budget = page.locator("#distill-seconds input[type=number]")  # the page's default is a one-minute budget
    budget.fill("0")
    budget.press("Enter")
    steps = page.locator("#distill-steps input[type=number]")
    steps.fill("60")
    steps.press("Enter")
    page.locator("#distill-start").click()
    status = page.locator("#distill-status")
    expect(status).to_contain_text("Step ", timeout=60_000)
    expect(page.locator("#distill-losses .js-plotly-plot")).to_be_visible()
    first = int(status.inner_text().split("Step ")[1].split(" ")[0])
    page.screenshot(path=SCREENSHOTS / "distill-running.png", full_page=True)
    expect(page.locator("#distill-summary")).to_contain_text("Run finished: 60 steps", timeout=120_000)
    points = page.locator("#distill-losses .js-plotly-plot").first.evaluate("el => el.data[0].x.length")
    assert first < 60 and points == 60  # the curve grew from a partial run to the whole run
    expect(page.locator("#distill-agreement .js-plotly-plot")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "distill-finished.png", full_page=True)

    page.locator("#distill-use").click()
    expect(page.locator("#distill-used")).to_contain_text("now use your distilled student")
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("radio", name="fill-mask").check()
    page.locator("#input-text textarea").fill("The cat sat on the [MASK].")
    page.locator("#run-button").click()
    expect(page.locator("#distilbert-metrics")).to_contain_text("distilled student", timeout=60_000)
    page.screenshot(path=SCREENSHOTS / "compare-with-student.png", full_page=True)


def test_closing_the_tab_ends_a_running_distillation(browser, launched_app):
    import time

    from distilbert_demo.distill import tab as ui_distill

    tab = browser.new_page()
    tab.goto(launched_app)
    tab.get_by_role("tab", name="Distill").click()
    steps = tab.locator("#distill-steps input[type=number]")
    steps.fill("1000")
    steps.press("Enter")
    tab.locator("#distill-start").click()
    expect(tab.locator("#distill-status")).to_contain_text("Step ", timeout=60_000)
    assert len(ui_distill.ACTIVE_RUNS) == 1
    tab.close()
    deadline = time.monotonic() + 30
    while ui_distill.ACTIVE_RUNS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ui_distill.ACTIVE_RUNS == {}  # the run's generator was closed and its memory released


def test_benchmark_tab_small_sweep(page):
    page.get_by_role("tab", name="Benchmark").click()
    page.locator("#bench-run").click()
    expect(page.locator("#bench-message")).to_contain_text("batch 1:", timeout=120_000)
    for chart in ("latency", "speedup", "memory", "throughput"):
        expect(page.locator(f"#bench-{chart} .js-plotly-plot")).to_be_visible()
    expect(page.locator("#bench-table")).to_contain_text("distilbert (pipeline)")
    expect(page.locator("#bench-csv")).to_contain_text("benchmark")  # the file, ready to download
    page.screenshot(path=SCREENSHOTS / "benchmark.png", full_page=True)


def test_evaluate_tab(page):
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#evaluate-run").click()
    expect(page.locator("#evaluate-summary")).to_contain_text("Retention", timeout=120_000)
    expect(page.locator("#evaluate-summary")).to_contain_text("95% CI (Wilson)")
    expect(page.locator("#evaluate-bert-confusion .js-plotly-plot")).to_be_visible()
    expect(page.locator("#evaluate-cases")).to_contain_text("bert_p_positive")
    page.screenshot(path=SCREENSHOTS / "evaluate.png", full_page=True)


def _app_loading_until(gate, tiny_models, monkeypatch):
    """The app on the tiny checkpoints, served while its weights load, each load held until `gate` is set."""
    from distilbert_demo import loading, ui

    real_load = loading.load_model

    def slow_load(*args, **kwargs):
        gate.wait(timeout=60)  # held until the page is open
        return real_load(*args, **kwargs)

    monkeypatch.setattr(loading, "load_model", slow_load)
    tasks = ("fill-mask", "sentiment", "qa")
    overrides = {(t, s): tiny_models[f"{t}-{s}"] for t in tasks for s in ("bert", "distilbert")}
    store = loading.ModelStore(overrides, allow_twin=False)
    store.load_in_background(list(tasks))
    app = ui.build_app(store)
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    return app, store


def test_the_banner_updates_itself_while_pairs_load(browser, tiny_models, monkeypatch):
    """Opened while the weights load, the page's banner turns to "loaded" without a reload."""
    import threading
    import time

    from distilbert_demo import ui

    gate = threading.Event()
    app, store = _app_loading_until(gate, tiny_models, monkeypatch)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(app.local_url, wait_until="load")
        banner = page.locator("#banner")
        expect(banner).to_contain_text("loading…", timeout=30_000)
        gate.set()
        expect(banner).not_to_contain_text("loading…", timeout=60_000)  # no reload: the timer redrew it
        expect(banner).to_contain_text("local folder")
        page.screenshot(path=SCREENSHOTS / "banner-loaded.png")
        time.sleep(2 * ui.BANNER_REFRESH_S)
        assert store.settled()
        page.close()
    finally:
        gate.set()
        app.close()


def test_presenter_mode_says_what_is_loading_until_it_is_ready(browser, tiny_models, monkeypatch):
    """The banner is hidden on stage: a slim line says which models are loading, and goes once they are."""
    import threading

    gate = threading.Event()
    app, _ = _app_loading_until(gate, tiny_models, monkeypatch)
    try:
        page = browser.new_page(viewport=PROJECTOR)
        page.goto(f"{app.local_url}?presenter=1", wait_until="load")
        expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
        line = page.locator("#loading-line")
        expect(line).to_be_visible(timeout=30_000)
        expect(line).to_contain_text("Loading the models")
        expect(line).to_contain_text("fill-mask, sentiment, qa")
        expect(page.locator("#banner")).to_be_hidden()
        page.screenshot(path=SCREENSHOTS / "presenter-loading.png")
        shown = line.bounding_box()
        assert shown and shown["y"] >= 0 and shown["y"] + shown["height"] <= 60, shown  # slim, at the top
        switch = page.locator("#presenter-toggle").bounding_box()  # beside the view bar, not under it
        assert switch and shown["x"] + shown["width"] <= switch["x"], (shown, switch)
        page.locator("#presenter-toggle input").uncheck()  # off stage the banner says it
        expect(line).to_be_hidden()
        expect(page.locator("#banner")).to_contain_text("loading…")
        page.locator("#presenter-toggle input").check()
        expect(line).to_be_visible()
        gate.set()
        expect(line).to_be_hidden(timeout=60_000)  # no reload: the banner's timer redrew it
        expect(page.locator("#run-button")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "presenter-loaded.png")
        page.close()
    finally:
        gate.set()
        app.close()


def test_a_link_opens_a_tab_with_an_example(browser, launched_app):
    """?tab=attention&example=2: the speaker's bookmark opens that view; a reload keeps it."""
    from distilbert_demo.resources import example_rows

    task, text, _ = example_rows()[1]
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{launched_app}?tab=attention&example=2", wait_until="load")
    expect(page.locator("#attention-text textarea")).to_have_value(text, timeout=30_000)
    expect(page.locator("#attention-run")).to_be_visible()  # the Attention tab is the one on screen
    expect(page.locator("#input-text textarea")).to_have_value(text)  # Compare got the example too
    page.reload(wait_until="load")
    expect(page.locator("#attention-run")).to_be_visible(timeout=30_000)
    page.close()


# Presenter mode: a projector at 1280x720 (?presenter=1 or the switch).

PROJECTOR = {"width": 1280, "height": 720}
BODY_PX, AXIS_PX = 20, 16  # the smallest body text and axis label a projector may show


def _font_px(locator) -> float:
    return locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")


def _axis_fonts(page, figure: str) -> list[float]:
    """Font sizes of a figure's tick labels and axis titles, as drawn."""
    parts = (".xtick text", ".ytick text", ".g-xtitle text", ".g-ytitle text")
    texts = page.locator(", ".join(f"{figure} {part}" for part in parts))
    return texts.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")


def _assert_presenter_view(page, name: str, verdict: str, figures: list[str], texts: list[str]) -> None:
    """The verdict and both figures inside the viewport, body text and axis labels large enough."""
    for figure in figures:  # drawn, not just placed: the screenshot is of what the audience sees
        expect(page.locator(f"{figure} .xtick").first).to_be_attached(timeout=20_000)
    page.screenshot(path=SCREENSHOTS / f"presenter-{name}.png")  # the viewport: what the audience sees
    for selector in [verdict, *figures]:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"]
        assert inside and box["y"] + box["height"] <= PROJECTOR["height"], (name, selector, box)
    assert _font_px(page.locator("body")) >= BODY_PX
    for selector in texts:
        assert _font_px(page.locator(selector).first) >= BODY_PX, (name, selector)
    for figure in figures:
        sizes = _axis_fonts(page, figure)
        assert sizes and min(sizes) >= AXIS_PX, (name, figure, sizes)
    expect(page.locator("#banner")).to_be_hidden()  # prose and secondary controls are gone


def test_presenter_compare_fits_a_projector_and_the_switch_undoes_it(browser, launched_app):
    from distilbert_demo.resources import example_rows

    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=compare&example=1&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    expect(page.locator("#presenter-toggle input")).to_be_checked()
    expect(page.locator("#input-text textarea")).to_have_value(example_rows()[0][1])
    page.locator("#run-button").click()
    expect(page.locator("#verdict")).to_contain_text("DistilBERT:", timeout=60_000)
    figures = ["#bert-predictions .js-plotly-plot", "#distilbert-predictions .js-plotly-plot"]
    _assert_presenter_view(page, "compare", "#verdict", figures, ["#verdict td", "#input-text textarea"])

    # the link to this view names the tab, the example and presenter mode
    page.locator("#copy-link").click()
    expect(page.locator("#view-link textarea")).to_have_value(
        f"{launched_app.rstrip('/')}/?tab=compare&example=1&presenter=1", timeout=20_000
    )
    # the switch turns it off in place: the results stay, type and figures go back to normal
    page.locator("#presenter-toggle input").uncheck()
    expect(page.locator("body.presenter")).to_have_count(0)
    expect(page.locator("#banner")).to_be_visible()
    expect(page.locator("#verdict")).to_contain_text("DistilBERT:")
    assert max(_axis_fonts(page, figures[0])) < AXIS_PX
    assert _font_px(page.locator("body")) < BODY_PX
    page.close()


def test_presenter_attention_fits_a_projector(browser, launched_app):
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=attention&example=2&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    page.locator("#attention-run").click()
    expect(page.locator("#alignment")).to_contain_text("is shown next to BERT layer", timeout=60_000)
    figures = ["#bert-head-map .js-plotly-plot", "#distil-head-map .js-plotly-plot"]
    for figure in figures:  # drawn before the screenshot (plotly draws after the text arrives)
        expect(page.locator(f"{figure} .heatmaplayer")).to_have_count(1, timeout=20_000)
    _assert_presenter_view(page, "attention", "#alignment", figures, ["#alignment p"])
    page.close()


ATTENTION_FIGURES = ["#bert-head-map .js-plotly-plot", "#distil-head-map .js-plotly-plot"]
MODEL_VIEWS = ["#bert-model-view img", "#distil-model-view img"]

# What covers the middle of a figure: any visible element with a background that is neither the
# figure nor inside it nor behind it (Gradio's loading cover is one, drawn over the whole block).
COVERS = """(figure) => {
  const box = figure.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const block = figure.closest('.block') || figure.parentElement;
  const covers = [];
  for (const el of block.querySelectorAll('*')) {
    if (el === figure || figure.contains(el) || el.contains(figure)) continue;
    const r = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!(r.left <= x && x <= r.right && r.top <= y && y <= r.bottom)) continue;
    const paint = style.backgroundColor.match(/[\\d.]+/g) || [];
    const opaque = paint.length === 3 || (paint.length === 4 && parseFloat(paint[3]) > 0);
    if (opaque && parseFloat(style.opacity) > 0 && style.visibility !== 'hidden' && style.display !== 'none')
      covers.push(el.className || el.tagName);
  }
  return covers;
}"""


def _assert_figures_shown(page, selectors: list[str]) -> None:
    for selector in selectors:
        figure = page.locator(selector).first
        expect(figure).to_be_visible()
        assert figure.evaluate(COVERS) == [], selector


def test_presenter_attention_redraw_keeps_the_old_figures_on_screen(browser, launched_app, monkeypatch):
    """A slider's redraw leaves the four figures in view until the new ones arrive (it used to blank
    them to white under a spinner for up to 1.4 s); the model views' numbers are projector-sized."""
    import threading

    from distilbert_demo.attention import figures as attention_figures

    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=attention&example=2&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    page.locator("#attention-run").click()
    expect(page.locator("#distil-head-map")).to_contain_text("DistilBERT layer 0 head 0", timeout=60_000)
    expect(page.locator(MODEL_VIEWS[1])).to_be_visible()

    # the model views: their numbers drawn at >= 16 px, nothing of the page over the title and numbers
    for selector in MODEL_VIEWS:
        image = page.locator(selector)
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        natural_w, natural_h = image.evaluate("e => [e.naturalWidth, e.naturalHeight]")
        assert attention_figures.FONT_PX * box["width"] / natural_w >= AXIS_PX, (selector, box, natural_w)
        # points of the title and head-number rows, and of the layer-number column (image pixels)
        left, top = attention_figures.cell_origin(0, 0)
        margins = [(x, y) for x in (4, natural_w * 0.4, natural_w - 4) for y in (4, top - 6)]
        margins += [(left / 2, top + f * (natural_h - top)) for f in (0.1, 0.5)]
        hits = image.evaluate(
            """(img, points) => points.map(([x, y]) => {
                 const r = img.getBoundingClientRect(), s = r.width / img.naturalWidth;
                 return document.elementFromPoint(r.left + x * s, r.top + y * s) === img;
               })""",
            margins,
        )
        assert all(hits), (selector, margins, hits)
    page.locator("#distil-model-view").screenshot(path=SCREENSHOTS / "presenter-attention-model-view.png")
    page.locator("#attention-maps").scroll_into_view_if_needed()

    # hold the next redraw on the server, and look at the page meanwhile
    entered, release = threading.Event(), threading.Event()
    real = attention_figures.head_figures

    def held(*args, **kwargs):
        entered.set()
        release.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(attention_figures, "head_figures", held)
    try:
        head = page.locator("#distil-head input[type=number]")
        head.fill("1")
        head.press("Enter")
        assert entered.wait(timeout=30), "the redraw never reached the server"
        page.wait_for_timeout(400)  # Gradio shows its loading cover at once; give it time to show
        page.screenshot(path=SCREENSHOTS / "presenter-attention-redrawing.png")
        _assert_figures_shown(page, ATTENTION_FIGURES + MODEL_VIEWS)
    finally:
        release.set()
    expect(page.locator("#distil-head-map")).to_contain_text("DistilBERT layer 0 head 1", timeout=20_000)
    expect(page.locator("#bert-head-map")).to_contain_text("head 1")  # BERT's head follows
    _assert_figures_shown(page, ATTENTION_FIGURES + MODEL_VIEWS)
    page.close()


def test_presenter_distill_fits_a_projector(browser, launched_app):
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=distill&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    expect(page.locator("#distill-steps")).to_be_hidden()  # on stage: the budget and the recipe only
    budget = page.locator("#distill-seconds input[type=number]")
    budget.fill("3")
    budget.press("Enter")
    page.locator("#distill-start").click()
    expect(page.locator("#distill-status")).to_contain_text("Done:", timeout=60_000)
    figures = ["#distill-losses .js-plotly-plot", "#distill-agreement .js-plotly-plot"]
    _assert_presenter_view(page, "distill", "#distill-status", figures, ["#distill-status p"])
    page.close()


def test_presenter_benchmark_fits_a_projector_with_its_settings_below(browser, launched_app):
    """On stage the sweep's reading and its two main charts come first, the settings under them
    (set before the talk, a scroll away): a sweep of one point is enough to draw both."""
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=benchmark&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    for name in ("seq-lens", "batch-sizes"):  # one length and one batch size: a one-point sweep
        boxes = page.locator(f"#bench-{name} input[type=checkbox]")
        for i in range(boxes.count()):
            boxes.nth(i).set_checked(i == 0)
    page.locator("#bench-run").scroll_into_view_if_needed()
    page.locator("#bench-run").click()
    expect(page.locator("#bench-message")).to_contain_text("FLOPs ratio", timeout=120_000)
    page.evaluate("window.scrollTo(0, 0)")
    figures = ["#bench-latency .js-plotly-plot", "#bench-speedup .js-plotly-plot"]
    _assert_presenter_view(page, "benchmark", "#bench-message", figures, ["#bench-message p"])
    settings = page.locator("#bench-seq-lens").bounding_box()
    assert settings["y"] > page.locator(figures[1]).bounding_box()["y"]  # the settings under the charts
    page.close()


def test_presenter_race_then_a_new_run_clears_its_verdict_at_once(browser, launched_app, monkeypatch):
    """On stage: the race's first line says what is happening while the students are built, its verdict
    compares them at equal steps; the next run clears that verdict and its charts at once, and says so."""
    import time

    from distilbert_demo.distill import core, recipe

    real_init = recipe.HeldOut.__init__

    def slow_build(self, *args, **kwargs):  # building takes 2 s, as a bert-base teacher's answers do
        time.sleep(2)
        real_init(self, *args, **kwargs)

    real_step = recipe.Distiller._step

    def slow_step(self, batch):  # and a step 0.3 s: the race lasts long enough to be seen growing
        time.sleep(0.3)
        return real_step(self, batch)

    real_race = core.Race.__init__

    def as_if_twins(self, *args, **kwargs):  # the teacher as on a machine with no hub: an untrained twin
        real_race(self, *args, **kwargs)
        self.twin = True

    monkeypatch.setattr(recipe.HeldOut, "__init__", slow_build)
    monkeypatch.setattr(recipe.Distiller, "_step", slow_step)
    monkeypatch.setattr(core.Race, "__init__", as_if_twins)
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=distill&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    budget = page.locator("#distill-seconds input[type=number]")
    budget.fill("10")
    budget.press("Enter")
    status, summary = page.locator("#distill-status"), page.locator("#distill-summary")
    page.locator("#distill-race").click()
    expect(status).to_contain_text("Building both students", timeout=1_500)  # at once, during the build
    expect(status.locator("p").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "presenter-race-building.png")
    expect(status).to_contain_text("Race: step ", timeout=30_000)  # one step count and one ETA for both
    expect(status).to_contain_text("each · ETA")
    expect(page.locator("#distill-losses .js-plotly-plot")).to_be_visible(timeout=30_000)  # both curves, growing
    page.screenshot(path=SCREENSHOTS / "presenter-race-running.png")
    page.locator("#distill-losses .js-plotly-plot").first.evaluate("el => el.data.map(t => t.x.length)")
    lengths = page.locator("#distill-losses .js-plotly-plot").first.evaluate("el => el.data.map(t => t.x.length)")
    assert len(lengths) == 2 and lengths[0] == lengths[1]  # two lanes, as many steps each
    expect(status).to_contain_text("Race finished: After ", timeout=60_000)
    expect(status).to_contain_text("steps each, same batches")
    assert status.inner_text().count("untrained twin teacher") == 1  # the caveat, once, above the charts
    expect(summary).not_to_contain_text("steps each, same batches")  # the verdict is not said twice
    expect(summary).not_to_contain_text("untrained twin teacher")
    expect(page.locator("#distill-agreement .js-plotly-plot")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "presenter-race-verdict.png")
    for chart in ("#distill-status", "#distill-losses .js-plotly-plot", "#distill-agreement .js-plotly-plot"):
        box = page.locator(chart).first.bounding_box()  # the verdict and both charts above the fold
        assert box["y"] + box["height"] <= PROJECTOR["height"], (chart, box)
    time.sleep(2)  # the race's event ends just after its verdict shows (a click before it is refused)
    page.locator("#distill-start").click()
    expect(status).to_contain_text("Building the student from the teacher's layers", timeout=1_500)
    expect(summary).not_to_contain_text("steps each")  # the old verdict is gone, and its charts
    expect(page.locator("#distill-losses .js-plotly-plot")).to_have_count(0)
    expect(page.locator("#distill-agreement .js-plotly-plot")).to_have_count(0)
    expect(status).to_contain_text("Building the student")  # still building: all this came at once
    page.screenshot(path=SCREENSHOTS / "presenter-distill-building.png")
    expect(status).to_contain_text("Done:", timeout=60_000)
    page.screenshot(path=SCREENSHOTS / "presenter-distill-done.png")
    page.close()


def test_a_copied_link_brings_back_a_text_of_ones_own(browser, launched_app):
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=compare", wait_until="load")
    page.get_by_role("radio", name="sentiment").check()
    own = "The soup was cold & the staff were rude?"
    page.locator("#input-text textarea").fill(own)
    page.locator("#copy-link").click()
    link = page.locator("#view-link textarea")
    expect(link).to_have_value(re.compile(r"\?tab=compare&task=sentiment&text="), timeout=20_000)
    again = browser.new_page(viewport=PROJECTOR)
    again.goto(link.input_value(), wait_until="load")
    expect(again.locator("#input-text textarea")).to_have_value(own, timeout=30_000)
    expect(again.get_by_role("radio", name="sentiment")).to_be_checked()
    again.close()
    page.close()


def test_the_disagreement_reel_steps_through_three_cases(browser, launched_app):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{launched_app}?tab=evaluate", wait_until="load")
    page.locator("#evaluate-run").click()
    expect(page.locator("#evaluate-summary")).to_contain_text("Retention", timeout=180_000)
    page.get_by_role("tab", name="Disagreement reel").click()
    case = page.locator("#reel-case")
    expect(case).to_contain_text("Disagreement 1 of", timeout=180_000)
    total = int(case.inner_text().split("Disagreement 1 of ")[1].split()[0])
    assert total >= 3  # the tiny models disagree often enough to step through three
    for number in (1, 2, 3):
        if number > 1:
            page.locator("#reel-next").click()
            expect(case).to_contain_text(f"Disagreement {number} of {total}", timeout=60_000)
        expect(case).to_contain_text("✗ wrong")
        expect(page.locator("#reel-saliency .js-plotly-plot")).to_be_visible(timeout=60_000)
        expect(page.locator("#reel-attention .js-plotly-plot")).to_be_visible(timeout=60_000)
        page.locator("#reel-case").scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"reel-{number}.png")
    page.locator("#reel-previous").click()
    expect(case).to_contain_text(f"Disagreement 2 of {total}", timeout=60_000)
    page.close()


def test_presenter_reel_is_a_view_that_fits_a_projector(browser, launched_app):
    """The reel has a view of its own: the case, both predictions, both saliency rows and the two
    buttons on one 1280x720 screen (they used to start at 1344 px, under the results)."""
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=reel&presenter=1", wait_until="load")  # a link of its own
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    reel_tab = page.get_by_role("tab", name="Disagreement reel")
    expect(reel_tab).to_have_attribute("aria-selected", "true", timeout=30_000)
    expect(page.locator("#reel-case")).to_contain_text("Press Evaluate")  # before any evaluation: how to fill it
    page.get_by_role("tab", name="Results").click()
    page.locator("#evaluate-run").click()
    summary = page.locator("#evaluate-summary")
    expect(summary).to_contain_text("Retention", timeout=180_000)
    expect(page.locator("#evaluate-bert-confusion .js-plotly-plot")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "presenter-evaluate.png")
    reel_tab.click()
    case = page.locator("#reel-case")
    expect(case).to_contain_text("Disagreement 1 of", timeout=120_000)
    for number in (1, 2):
        if number > 1:
            page.locator("#reel-next").click()
            expect(case).to_contain_text(f"Disagreement {number} of", timeout=60_000)
        saliency = page.locator("#reel-saliency .js-plotly-plot")
        expect(saliency.locator(".heatmaplayer")).to_have_count(2, timeout=60_000)  # one row per model
        page.wait_for_timeout(500)  # plotly's first draw settles
        page.screenshot(path=SCREENSHOTS / f"presenter-reel-{number}.png")
        expect(case.locator("td", has_text="✗ wrong")).to_have_count(1)  # both predictions, one wrong
        expect(case.locator("tr")).to_have_count(4)  # header, truth, BERT, DistilBERT
        for selector in ["#reel-previous", "#reel-next", "#reel-case", "#reel-case table", "#reel-case blockquote"]:
            _assert_inside(page, selector)
        # both saliency rows: each heatmap as drawn, not only the figure's frame
        for row in range(2):
            _assert_inside(page, f"#reel-saliency .heatmaplayer >> nth={row}")
        assert _font_px(page.locator("#reel-case td").first) >= BODY_PX
        assert _font_px(page.locator("#reel-case blockquote p").first) >= BODY_PX
    # the link to this view names the reel (the page sends every selected tab, links.on_screen)
    page.locator("#copy-link").click()
    expect(page.locator("#view-link textarea")).to_have_value(
        f"{launched_app.rstrip('/')}/?tab=reel&presenter=1", timeout=20_000
    )
    page.close()


def _assert_inside(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0, selector
    inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"]
    assert inside and box["y"] + box["height"] <= PROJECTOR["height"], (selector, box)


def test_presenter_example_picker_follows_the_task(browser, launched_app):
    """On stage the example list is hidden: numbers beside the task pick an example, and switching
    the task loads its first example instead of leaving the last task's text under it."""
    from distilbert_demo.tabs import task_examples

    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=compare&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    picker, box = page.locator("#compare-example"), page.locator("#input-text textarea")
    expect(page.locator("#compare-examples")).to_be_hidden()
    expect(picker).to_be_visible()
    expect(box).to_have_value(task_examples("fill-mask")[0][0])
    expect(picker.get_by_role("radio", name="1")).to_be_checked()

    page.get_by_role("radio", name="sentiment").check()  # the fill-mask text must not stay
    sentiment = task_examples("sentiment")
    expect(box).to_have_value(sentiment[0][0], timeout=20_000)
    expect(picker.get_by_role("radio")).to_have_count(len(sentiment))
    expect(picker.get_by_role("radio", name="1")).to_be_checked()
    picker.get_by_role("radio", name="3").check()
    expect(box).to_have_value(sentiment[2][0], timeout=20_000)

    page.get_by_role("radio", name="qa").check()  # the question comes with its context
    qa = task_examples("qa")
    expect(box).to_have_value(qa[0][0], timeout=20_000)
    expect(page.locator("#input-question textarea")).to_have_value(qa[0][1])
    expect(picker.get_by_role("radio")).to_have_count(len(qa))
    picker.get_by_role("radio", name="2").check()
    expect(page.locator("#input-question textarea")).to_have_value(qa[1][1], timeout=20_000)
    box.fill("A text of one's own, about nothing in particular.")  # no number claims it any more
    expect(picker.locator("input:checked")).to_have_count(0, timeout=20_000)

    page.get_by_role("radio", name="fill-mask").check()  # presenter mode: even one's own text gives way
    picker.get_by_role("radio", name="4").check()  # at once: the task's first example must not land after it
    expect(box).to_have_value(task_examples("fill-mask")[3][0], timeout=20_000)
    page.wait_for_timeout(1_000)
    expect(box).to_have_value(task_examples("fill-mask")[3][0])
    expect(picker.get_by_role("radio", name="4")).to_be_checked()
    page.get_by_role("radio", name="sentiment").check()
    expect(box).to_have_value(sentiment[0][0], timeout=20_000)
    picker.get_by_role("radio", name="2").check()
    expect(box).to_have_value(sentiment[1][0], timeout=20_000)
    page.locator("#run-button").click()
    expect(page.locator("#verdict")).to_contain_text("DistilBERT:", timeout=60_000)
    figures = ["#bert-predictions .js-plotly-plot", "#distilbert-predictions .js-plotly-plot"]
    _assert_presenter_view(page, "compare-picker", "#verdict", figures, ["#verdict td"])
    for selector in ("#compare-example", "#run-button"):  # the picker and Run on screen too
        shown = page.locator(selector).bounding_box()
        assert shown and shown["y"] >= 0 and shown["y"] + shown["height"] <= PROJECTOR["height"], (selector, shown)

    page.locator("#presenter-toggle input").uncheck()  # off stage: the list is back, the picker gone
    expect(picker).to_be_hidden()
    expect(page.locator("#compare-examples")).to_be_visible()
    page.get_by_role("radio", name="fill-mask").check()  # a shipped example gives way off stage too
    expect(box).to_have_value(task_examples("fill-mask")[0][0], timeout=20_000)
    own = "My own sentence about a [MASK]."
    box.fill(own)
    page.get_by_role("radio", name="sentiment").check()  # one's own text stays off stage
    page.wait_for_timeout(1_000)
    expect(box).to_have_value(own)
    page.close()


def test_presenter_attention_picker_and_links(browser, launched_app):
    from distilbert_demo.tabs import task_examples

    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=attention&example=2&presenter=1", wait_until="load")
    picker, box = page.locator("#attention-example"), page.locator("#attention-text textarea")
    expect(box).to_have_value(task_examples("fill-mask")[1][0], timeout=30_000)
    expect(picker.get_by_role("radio", name="2")).to_be_checked(timeout=20_000)  # the link's number
    page.get_by_role("radio", name="sentiment").check()
    expect(box).to_have_value(task_examples("sentiment")[0][0], timeout=20_000)
    picker.get_by_role("radio", name="4").check()
    expect(box).to_have_value(task_examples("sentiment")[3][0], timeout=20_000)
    page.screenshot(path=SCREENSHOTS / "presenter-attention-picker.png")
    page.close()


def test_presenter_explain_picker(browser, launched_app):
    from distilbert_demo.tabs import task_examples

    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=explain&presenter=1", wait_until="load")
    picker, box = page.locator("#explain-example"), page.locator("#explain-text textarea")
    expect(picker.get_by_role("radio", name="1")).to_be_checked(timeout=30_000)  # the page's first text
    picker.get_by_role("radio", name="5").check()
    expect(box).to_have_value(task_examples("sentiment")[4][0], timeout=20_000)
    page.get_by_role("radio", name="fill-mask").check()
    expect(box).to_have_value(task_examples("fill-mask")[0][0], timeout=20_000)
    page.locator("#explain-run").click()
    expect(page.locator("#explain-summary")).not_to_be_empty(timeout=60_000)
    expect(page.locator("#explain-figure .js-plotly-plot")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(500)
    page.screenshot(path=SCREENSHOTS / "presenter-explain-picker.png")
    page.close()


def test_presenter_distill_refusal_shows_and_start_after_done_runs(browser, launched_app, monkeypatch):
    """On stage, a second heavy job is refused next to a control the speaker sees; and a Start clicked
    right after "Done:" starts a run, even when freeing the last run's memory takes seconds (the last
    line used to go out before that, while the run still held the heavy queue)."""
    import time

    from distilbert_demo.distill import core as distill_core
    from distilbert_demo.distill import tab as ui_distill
    from distilbert_demo.tabs import ONE_HEAVY_JOB

    real_release = distill_core.release_memory

    def slow_release():
        real_release()
        time.sleep(3)  # a big heap: gc and malloc_trim after a bert-base run take a while

    monkeypatch.setattr(distill_core, "release_memory", slow_release)
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(f"{launched_app}?tab=distill&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
    budget, status = page.locator("#distill-seconds input[type=number]"), page.locator("#distill-status")
    budget.fill("30")
    budget.press("Enter")
    page.locator("#distill-start").click()
    expect(status).to_contain_text("Step ", timeout=60_000)
    page.locator("#distill-race").click()  # a second heavy job while the first runs: refused
    refusal = page.get_by_text(ONE_HEAVY_JOB[:40])
    expect(refusal).to_be_visible(timeout=20_000)
    shown = refusal.bounding_box()
    assert shown and shown["y"] >= 0 and shown["y"] + shown["height"] <= PROJECTOR["height"], shown
    page.screenshot(path=SCREENSHOTS / "presenter-distill-refused.png")
    page.get_by_role("tab", name="Evaluate").click()  # its only input (the upload) is hidden on stage
    page.locator("#evaluate-run").click()
    refusal = page.locator("#tab-evaluate").get_by_text(ONE_HEAVY_JOB[:40])
    expect(refusal).to_be_visible(timeout=20_000)
    shown = refusal.bounding_box()
    assert shown and shown["y"] >= 0 and shown["y"] + shown["height"] <= PROJECTOR["height"], shown
    page.screenshot(path=SCREENSHOTS / "presenter-evaluate-refused.png")
    page.get_by_role("tab", name="Distill").click()
    page.locator("#distill-stop").click()
    deadline = time.monotonic() + 60
    while ui_distill.ACTIVE_RUNS and time.monotonic() < deadline:  # the stopped run has ended
        time.sleep(0.2)
    assert ui_distill.ACTIVE_RUNS == {}

    budget.fill("2")
    budget.press("Enter")
    page.locator("#distill-start").click()
    expect(status).to_contain_text("Done:", timeout=60_000)
    page.locator("#distill-start").click()  # at once, as a speaker would
    expect(status).not_to_contain_text("Done:", timeout=10_000)  # a new run: "Starting", then its steps
    expect(page.get_by_text(ONE_HEAVY_JOB[:40])).to_be_hidden()
    expect(status).to_contain_text("Done:", timeout=60_000)
    page.close()
