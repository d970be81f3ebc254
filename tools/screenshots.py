"""Pictures of the app for the README: each tab in presenter mode at 1280x720, and the myth race.

    python -m tools.screenshots [--out assets/screenshots] [--race-seconds 20]    (make screenshots)

Starts the app (the default checkpoints: the hub or its cache if it can, else the untrained twins,
which the pictures then say), drives Debian's Chromium through every tab with ?presenter=1, runs
each view for real and saves what a projector would show (PNG), plus an animated GIF of the race
drawn frame by frame while it runs.
"""

from __future__ import annotations

import argparse
import io
import logging
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from distilbert_demo import ui

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 720}  # a projector
GIF_WIDTH = 800  # the GIF is scaled down: a README picture, not a video
FRAME_EVERY_S = 1.0
RUN_TIMEOUT_MS = 300_000  # bert-base twins on two CPU cores: a sweep takes a while


def shot(page: Page, out: Path, name: str) -> Path:
    page.wait_for_timeout(800)  # plotly animates its first draw
    path = out / f"{name}.png"
    page.screenshot(path=path)  # the viewport: what is on screen without scrolling
    print(f"wrote {path}")
    return path


def open_view(page: Page, base: str, query: str) -> None:
    page.goto(f"{base}?{query}&presenter=1", wait_until="load")
    expect(page.locator("body.presenter")).to_have_count(1, timeout=30_000)


def compare(page: Page, base: str, out: Path) -> None:
    for number, name in ((1, "compare-fill-mask"), (6, "compare-sentiment"), (11, "compare-qa")):
        open_view(page, base, f"tab=compare&example={number}")
        page.locator("#run-button").click()
        expect(page.locator("#verdict")).to_contain_text("DistilBERT:", timeout=RUN_TIMEOUT_MS)
        shot(page, out, name)


def attention(page: Page, base: str, out: Path) -> None:
    open_view(page, base, "tab=attention&example=1")
    page.locator("#attention-run").click()
    expect(page.locator("#alignment")).to_contain_text("layer", timeout=RUN_TIMEOUT_MS)
    shot(page, out, "attention")


def race(page: Page, base: str, out: Path, seconds: float) -> None:
    """The race, recorded: a frame a second while it runs, the finished chart as a PNG too."""
    open_view(page, base, "tab=distill")
    budget = page.locator("#distill-seconds input[type=number]")
    budget.fill(f"{seconds:g}")
    budget.press("Enter")
    page.locator("#distill-race").click()
    status = page.locator("#distill-status")
    frames: list[Image.Image] = []
    deadline = time.monotonic() + seconds + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline and "Race finished:" not in (status.text_content() or ""):
        frames.append(Image.open(io.BytesIO(page.screenshot())))
        page.wait_for_timeout(FRAME_EVERY_S * 1000)
    # the verdict is the status line, above both charts; the charts' last redraw follows it
    expect(status).to_contain_text("Race finished: After", timeout=30_000)
    page.wait_for_timeout(2000)
    final = Image.open(shot(page, out, "distill-race"))
    frames += [final] * 4  # the result stays on screen a few seconds before the loop restarts
    small = [f.convert("RGB").resize((GIF_WIDTH, GIF_WIDTH * f.height // f.width)) for f in frames]
    gif = out / "distill-race.gif"
    small[0].save(
        gif, save_all=True, append_images=small[1:], duration=int(FRAME_EVERY_S * 1000), loop=0, optimize=True
    )
    print(f"wrote {gif} ({len(small)} frames, {gif.stat().st_size / 2**20:.1f} MiB)")


def explain(page: Page, base: str, out: Path) -> None:
    open_view(page, base, "tab=explain")
    page.locator("#explain-run").click()
    expect(page.locator("#explain-summary")).to_contain_text("top tokens", timeout=RUN_TIMEOUT_MS)
    shot(page, out, "explain")


def ladder(page: Page, base: str, out: Path) -> None:
    open_view(page, base, "tab=ladder")
    page.locator("#ladder-run").click()
    expect(page.locator("#ladder-verdict")).to_contain_text("Fastest", timeout=RUN_TIMEOUT_MS * 3)
    page.locator("#ladder-chart").scroll_into_view_if_needed()
    shot(page, out, "ladder")


def evaluate(page: Page, base: str, out: Path) -> None:
    open_view(page, base, "tab=evaluate")
    page.locator("#evaluate-run").click()
    expect(page.locator("#evaluate-summary")).to_contain_text("accuracy", timeout=RUN_TIMEOUT_MS)
    shot(page, out, "evaluate")


def benchmark(page: Page, base: str, out: Path) -> None:
    open_view(page, base, "tab=benchmark")
    page.locator("#bench-run").click()
    expect(page.locator("#bench-latency .js-plotly-plot")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#bench-message")).not_to_be_empty(timeout=RUN_TIMEOUT_MS)
    shot(page, out, "benchmark")


STEPS = {
    "compare": compare,
    "attention": attention,
    "explain": explain,
    "evaluate": evaluate,
    "benchmark": benchmark,
    "ladder": ladder,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("assets/screenshots"))
    parser.add_argument("--race-seconds", type=float, default=20, help="the race's budget (both students)")
    parser.add_argument("--only", nargs="*", choices=[*STEPS, "race"])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = ui.create_app(ui.parse_args([]))
    ui.serve(app, mcp=False, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport=VIEWPORT)
            for name in args.only or ["compare", "attention", "explain", "race", "evaluate", "benchmark", "ladder"]:
                if name == "race":
                    race(page, app.local_url, args.out, args.race_seconds)
                else:
                    STEPS[name](page, app.local_url, args.out)
            browser.close()
    finally:
        app.close()


if __name__ == "__main__":
    main()
