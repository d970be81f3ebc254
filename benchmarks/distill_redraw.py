"""Benchmark: what one live redraw of the Distill tab's charts costs the browser (why a run redraws them
only every CHARTS_EVERY_S).

Serves the app (the architecture twins), makes one 1-step run in Debian's Chromium so that the page
holds its charts, then hands the page's own Plot elements the charts a run at `--steps` steps sends
and times Gradio's redraw (`Plotly.react` + `Plots.resize`, with the bundle Gradio ships). Random
losses: the cost depends on the layout and the number of points, not on the values.

    python -m benchmarks.distill_redraw [--steps 300] [--repeats 10] [--throttle 1]
"""

from __future__ import annotations

import argparse
import json
import math
import random

from distilbert_demo.distill import figures
from distilbert_demo.distill.tab import CHARTS_EVERY_S

CHROMIUM = "/usr/bin/chromium"
TIME_REDRAWS = """([target, figs]) => {
    const plot = document.querySelector(`#${target} .js-plotly-plot`);
    const start = performance.now();
    for (const fig of figs) {
        Plotly.react(plot, fig.data, fig.layout, {responsive: true});
        Plotly.Plots.resize(plot);
    }
    return [(performance.now() - start) / figs.length, Plotly.version];
}"""


def history(steps: int, rng: random.Random) -> list[dict]:
    terms = ("loss_ce", "loss_mlm", "loss_cos")
    return [
        {"step": i, "loss": 5 - math.log(i) + rng.random(), **{t: rng.random() for t in terms}}
        for i in range(1, steps + 1)
    ]


def evaluations(steps: int, rng: random.Random, every: int = 10) -> list[dict]:
    return [{"step": s, "top1": rng.random(), "kl": rng.random()} for s in range(0, steps + 1, every)]


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import expect, sync_playwright

    from distilbert_demo import ui
    from distilbert_demo.loading import ModelStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="how far the run is (points per loss curve)")
    parser.add_argument("--repeats", type=int, default=10, help="redraws timed per chart")
    parser.add_argument("--throttle", type=float, default=1.0, help="Chromium's CPU slow-down (1: none)")
    args = parser.parse_args(argv)
    rng = random.Random(0)
    charts = {  # one chart per redraw, each a step further, as a live run sends them
        "distill-losses": [
            figures.loss_figure(history(args.steps + i, rng), 2 * args.steps) for i in range(args.repeats + 2)
        ],
        "distill-agreement": [
            figures.agreement_figure(evaluations(args.steps + 10 * i, rng), 2 * args.steps)
            for i in range(args.repeats + 2)
        ],
    }
    app = ui.build_app(ModelStore())
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(app.local_url, wait_until="load")
            page.get_by_role("tab", name="Distill").click()
            for name, value in (("seconds", "0"), ("steps", "1")):
                page.locator(f"#distill-{name} input[type=number]").fill(value)
                page.locator(f"#distill-{name} input[type=number]").press("Enter")
            page.locator("#distill-start").click()
            expect(page.locator("#distill-summary")).to_contain_text("Run finished", timeout=600_000)
            if args.throttle != 1:
                page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
            timed = {}
            for target, figs in charts.items():
                sent = [json.loads(fig.to_json()) for fig in figs]
                page.evaluate(TIME_REDRAWS, [target, sent[:2]])  # warm-up
                timed[target], version = page.evaluate(TIME_REDRAWS, [target, sent[2:]])
            browser.close()
    finally:
        app.close()
    print(
        f"Gradio's plotly.js {version}, charts at {args.steps} steps, CPU slow-down x{args.throttle:g}, "
        f"{args.repeats} redraws each, in the app's page at 1280x720"
    )
    for target, ms in timed.items():
        print(f"  {target:18s} {ms:7.1f} ms per redraw")
    total = sum(timed.values())
    print(
        f"  both charts        {total:7.1f} ms: {100 * total / 1000 / CHARTS_EVERY_S:.0f}% of the browser's main "
        f"thread at one redraw every {CHARTS_EVERY_S:g} s"
    )


if __name__ == "__main__":
    main()
