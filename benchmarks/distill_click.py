"""Benchmark: a visitor's Distill run from the click to the verdict, with the page open in Chromium on the
same machine (its rendering competes with the training for the same cores).

Serves the app on the default checkpoints (their architecture twins offline), opens the Distill tab at
1280x720 in presenter mode, clicks Start with the page's defaults (a one-minute budget), and times the
first line and the verdict ("Done: N steps in T s") as the visitor sees them, `--runs` times.

    HF_HUB_OFFLINE=1 python -m benchmarks.distill_click [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

from distilbert_demo import measure, settings
from distilbert_demo.distill.recipe import DistillConfig

CHROMIUM = "/usr/bin/chromium"


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import expect, sync_playwright

    from distilbert_demo import ui
    from distilbert_demo.loading import ModelStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    measure.configure_threads()  # as the app does: DISTILBERT_DEMO_THREADS or all cores
    store = ModelStore()
    store.pair("fill-mask")  # loaded before the first click, as on a Space that has been up a while
    app = ui.build_app(store)
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    budget = settings.page_default_of(settings.fields(DistillConfig)["seconds"][0])
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(app.local_url + "?tab=distill&presenter=1", wait_until="load")
            status = page.locator("#distill-status")
            for run in range(1, args.runs + 1):
                time.sleep(5)  # the previous run's event ends just after its verdict shows (a click before is refused)
                page.locator("#distill-start").click()
                clicked = time.monotonic()
                expect(status).to_contain_text("Building", timeout=60_000)
                first = time.monotonic() - clicked
                expect(status).to_contain_text("Done:", timeout=10 * 60_000)
                verdict = time.monotonic() - clicked
                steps, seconds = re.search(r"Done: (\d+) steps in (\d+) s", status.inner_text()).groups()
                rows.append((first, verdict, int(steps)))
                print(
                    f"run {run}: first line {first:.1f} s, verdict {verdict:.1f} s after the click, "
                    f"{steps} steps (trained for {seconds} s)",
                    flush=True,
                )
            browser.close()
    finally:
        app.close()
    verdicts = [v for _, v, _ in rows]
    print(
        f"budget {budget:g} s, torch threads {measure.threads()}: verdict median {statistics.median(verdicts):.1f} s "
        f"(min {min(verdicts):.1f}, max {max(verdicts):.1f}), steps median {statistics.median(r[2] for r in rows)}"
    )


if __name__ == "__main__":
    main()
