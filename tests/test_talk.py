"""The talk track (docs/talk.md) played in Chromium at 1280x720 in presenter mode, step by step,
from the links the document itself gives: for each step the verdict and the main figures are on the
screen and no caveat is said twice. The screenshots (artifacts/screenshots/talk-NN-*.png) are what
the audience would see."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS

TALK = Path(__file__).resolve().parent.parent / "docs" / "talk.md"
PROJECTOR = {"width": 1280, "height": 720}
WEB_URL = "https://someone-distilbert-on-device.static.hf.space"
LONG = 40  # characters: a line this long said twice on one screen is a repeated caveat or sentence


def steps() -> list[tuple[str, str | None, str]]:
    """(title, link or None, the step's whole text) for every '## N.' section, in order."""
    found = []
    for block in re.split(r"^## ", TALK.read_text("utf-8"), flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        link = re.match(r"\s*`(\?[^`]+)`", body)  # a step opens with its link; a link mentioned later is not one
        found.append((title.strip(), link.group(1) if link else None, body))
    return found


def _inside(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0, selector
    assert box["x"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"], (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], (selector, box)


# The text the page shows: every visible text node outside form fields (a text box's own words are
# the speaker's input, not something the page says).
SHOWN_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement;
    if (!el || el.closest('textarea, script, style, noscript, option, [hidden]')) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    if (el.offsetParent === null && style.position !== 'fixed') continue;
    const text = walk.currentNode.textContent.trim();
    if (text) out.push(text);
  }
  return out;
}"""


def _said_once(page) -> None:
    shown = page.evaluate(SHOWN_TEXT)
    # a table's cells may repeat (two rows with the same note); prose may not
    prose = page.evaluate(SHOWN_TEXT.replace("option, [hidden]", "option, [hidden], table, [role=grid], [role=table]"))
    long_lines = [line for line in prose if len(line) >= LONG]
    repeated = {line for line in long_lines if long_lines.count(line) > 1}
    assert not repeated, f"said twice on one screen: {repeated}"
    everything = "\n".join(shown)
    for caveat in ("mean nothing", "cannot be told from chance", "untrained twin"):
        assert everything.count(caveat) <= 1, caveat


def _on_screen(page, name: str, selectors: list[str]) -> None:
    for selector in selectors:
        if "js-plotly-plot" in selector:  # drawn, not only placed
            expect(page.locator(f"{selector} .main-svg").first).to_be_attached(timeout=30_000)
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"talk-{name}.png")
    for selector in selectors:
        _inside(page, selector)
    _said_once(page)


COMPARE = ["#verdict", "#bert-predictions .js-plotly-plot", "#distilbert-predictions .js-plotly-plot"]
DISTILL = ["#distill-status", "#distill-losses .js-plotly-plot", "#distill-agreement .js-plotly-plot"]


@pytest.fixture(scope="module")
def talk_app(tiny_store):
    from distilbert_demo import ui

    tiny_store.load(["fill-mask", "sentiment", "qa"])  # as the app does before a talk: nothing still loading
    app = ui.build_app(tiny_store, web_url=WEB_URL)
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield app.local_url.rstrip("/") + "/"
    app.close()


def test_the_talk_track_has_a_link_for_every_point():
    found = steps()
    assert len(found) >= 10
    assert all(link or "Click" in body or "QR code" in body for _, link, body in found)
    tabs = {re.search(r"tab=(\w+)", link).group(1) for _, link, _ in found if link and "tab=" in link}
    assert {"compare", "attention", "distill", "evaluate", "ladder"} <= tabs


def _compare(page, name: str, student: bool) -> None:
    page.locator("#run-button").click()
    expect(page.locator("#verdict")).to_contain_text(re.compile("faster|slower"), timeout=60_000)
    if student:  # Compare says it is the student, in the verdict and on its chart
        expect(page.locator("#verdict")).to_contain_text("Distilled student")
        expect(page.locator("#distilbert-predictions")).to_contain_text("Distilled student")
    _on_screen(page, name, COMPARE)


def _distill(page, name: str, race: bool) -> None:
    budget = page.locator("#distill-seconds input[type=number]")
    budget.fill("4")
    budget.press("Enter")
    page.locator("#distill-race" if race else "#distill-start").click()
    finished = re.compile("Race finished|Done") if race else re.compile("Done:")
    expect(page.locator("#distill-status")).to_contain_text(finished, timeout=120_000)
    if race:
        # the verdict is the status line, above both charts (the summary below them repeats it for the record)
        expect(page.locator("#distill-status")).to_contain_text("Race finished: After ")
        _on_screen(page, name, DISTILL)
        return
    expect(page.locator("#distill-use")).to_be_visible(timeout=30_000)
    _on_screen(page, name, [*DISTILL, "#distill-use"])
    page.locator("#distill-use").click()
    expect(page.locator("#distill-used")).to_contain_text("distilled student", timeout=30_000)


def test_the_talk_plays_at_1280x720(browser, talk_app):
    page = browser.new_page(viewport=PROJECTOR)
    for number, (title, link, body) in enumerate(steps(), 1):
        name = f"{number:02d}-{re.sub(r'[^a-z]+', '-', title.lower()).strip('-')[:30]}"
        if link:
            page.goto(talk_app + link, wait_until="load")
            expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)
        view = re.search(r"tab=(\w+)", link).group(1) if link else None
        if view == "compare":
            _compare(page, name, student=False)
        elif "Use this student" in body and "Compare" in body and not link:
            page.get_by_role("tab", name="Compare").click()
            _compare(page, name, student=True)
        elif view == "attention":
            page.locator("#attention-run").click()
            expect(page.locator("#alignment")).to_contain_text("is shown next to BERT layer", timeout=60_000)
            page.wait_for_timeout(1500)  # the run's follow-up resets the sliders to layer 0 first
            layer = page.locator("#distil-layer input[type=number]")
            layer.fill("1")
            layer.press("Enter")  # the redraw: both maps stay on screen and follow
            expect(page.locator("#alignment")).to_contain_text("DistilBERT layer 1", timeout=30_000)
            _on_screen(page, name, ["#alignment", "#bert-head-map .js-plotly-plot", "#distil-head-map .js-plotly-plot"])
        elif view == "distill":
            _distill(page, name, race="myth race" in body)
        elif view == "evaluate":
            page.locator("#evaluate-run").click()
            expect(page.locator("#evaluate-summary")).to_contain_text("Retention", timeout=180_000)
            _on_screen(page, name, ["#evaluate-summary", "#evaluate-bert-confusion .js-plotly-plot"])
        elif "Disagreement reel" in body:
            page.get_by_role("tab", name="Disagreement reel").click()
            expect(page.locator("#reel-case")).to_contain_text("Disagreement 1 of", timeout=120_000)
            _on_screen(page, name, ["#reel-previous", "#reel-next", "#reel-case"])
        elif view == "ladder":
            page.locator("#ladder-run").click()
            expect(page.locator("#ladder-chart .js-plotly-plot")).to_be_attached(timeout=600_000)
            expect(page.locator("#ladder-verdict")).not_to_be_empty()
            _on_screen(page, name, ["#ladder-verdict", "#ladder-chart .js-plotly-plot"])
        else:  # the phones: the QR code, opened full size
            assert "QR code" in body, title
            page.locator("#phones summary").click()
            expect(page.locator("#phones .phones-panel")).to_contain_text(WEB_URL)
            _on_screen(page, name, ["#phones .phones-panel img"])
    page.close()
