"""Benchmark: a visitor's Distill run from the click to the verdict, with the page open in Chromium on the
same machine (its rendering competes with the training for the same cores).

Serves the app on the default checkpoints (their architecture twins offline), opens the Distill tab at
1280x720 in presenter mode, clicks Start with the page's defaults (a one-minute budget), and times the
first line and the verdict ("Done: N steps in T s") as the visitor sees them, `--runs` times.

    HF_HUB_OFFLINE=1 python -m benchmarks.distill_click [--runs 5]
    HF_HUB_OFFLINE=1 python -m benchmarks.distill_click --sweep [--runs 2]

`--sweep` chooses the app's thread count and OpenMP wait policy by measurement: for each pair
(2 torch threads with OMP_WAIT_POLICY unset, PASSIVE or ACTIVE, and 1 thread; the policy must be set before torch loads,
so each runs in a fresh process) it runs the same one-minute distillation once with no page open
(the CLI) and `--runs` times from the page, and prints the steps each made in its minute.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from distilbert_demo import measure, settings
from distilbert_demo.distill.recipe import DistillConfig

CHROMIUM = "/usr/bin/chromium"


def page_budget() -> float:
    """The Distill tab's default time budget (what a visitor's click runs with)."""
    return settings.page_default_of(settings.fields(DistillConfig)["seconds"][0])


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import expect, sync_playwright

    from distilbert_demo import ui
    from distilbert_demo.loading import ModelStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="threads x wait policy, each in a fresh process")
    args = parser.parse_args(argv)
    if args.sweep:
        sweep(args.runs)
        return
    measure.configure_threads()  # as the app does: DISTILBERT_DEMO_THREADS or all cores
    store = ModelStore()
    store.pair("fill-mask")  # loaded before the first click, as on a Space that has been up a while
    app = ui.build_app(store)
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    budget = page_budget()
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
                    f"{steps} steps (the page says {seconds} s)",
                    flush=True,
                )
            browser.close()
    finally:
        app.close()
    verdicts = [v for _, v, _ in rows]
    print(
        f"budget {budget:g} s, torch threads {measure.threads()}, OMP_WAIT_POLICY "
        f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}: verdict median {statistics.median(verdicts):.1f} s "
        f"(min {min(verdicts):.1f}, max {max(verdicts):.1f}), steps median {statistics.median(r[2] for r in rows)}"
    )
    print("RESULT " + json.dumps({"verdicts": verdicts, "steps": [r[2] for r in rows], "budget": budget}))


# None: libgomp's default (spin a while, then sleep). One thread has no worker that could wait.
CONFIGS = ((2, None), (2, "PASSIVE"), (2, "ACTIVE"), (1, None))


def sweep(runs: int) -> None:
    """Each (threads, wait policy) in fresh processes: the CLI alone, then the page `runs` times."""
    table, budget = [], page_budget()
    for threads, policy in CONFIGS:
        env = dict(os.environ, DISTILBERT_DEMO_THREADS=str(threads), HF_HUB_OFFLINE="1")
        env.pop("OMP_WAIT_POLICY", None)
        if policy:
            env["OMP_WAIT_POLICY"] = policy
        label = f"{threads}, {policy or 'unset'}"
        with tempfile.TemporaryDirectory() as out:
            cli = ["distill", "--json", "--out", out, "--seconds", str(budget)]
            alone = subprocess.run(
                [sys.executable, "-m", "distilbert_demo", *cli],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        summary = json.loads(alone.stdout.strip().splitlines()[-1])
        alone_steps, step_s = len(summary["history"]), summary["plan"]["step_s"]
        print(f"threads, wait policy {label}: no page: {alone_steps} steps ({step_s:.2f} s a step planned)", flush=True)
        page = subprocess.run(
            [sys.executable, "-m", "benchmarks.distill_click", "--runs", str(runs)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        print(page.stdout, end="", flush=True)
        result = json.loads(page.stdout.split("RESULT ", 1)[1])
        table.append((label, alone_steps, step_s, result))
    print("\n| torch threads, OMP_WAIT_POLICY | steps, no page | steps, page open | click to verdict, page open |")
    print("|---|---|---|---|")
    for label, alone_steps, step_s, result in table:
        steps, verdicts = result["steps"], result["verdicts"]
        print(
            f"| {label} | {alone_steps} ({step_s:.2f} s a step)"
            f" | {', '.join(map(str, steps))} | {', '.join(f'{v:.1f}' for v in verdicts)} s |"
        )


if __name__ == "__main__":
    main()
