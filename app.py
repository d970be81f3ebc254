"""Entry point: parse flags, load the models once, build the UI, launch (Hugging Face Spaces runs this).

    python app.py [--fill-mask-bert ID_OR_PATH] [--sentiment-distilbert ID_OR_PATH] [--threads N] ...

Every flag has an environment variable (DISTILBERT_DEMO_<TASK>_<SIDE>, DISTILBERT_DEMO_THREADS,
DISTILBERT_DEMO_DEVICE); Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from distilbert_demo import measure, registry  # noqa: E402
from distilbert_demo.loading import ModelStore  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="BERT vs DistilBERT explorer (Gradio app)")
    for task in registry.TASKS:
        for side in registry.SIDES:
            parser.add_argument(
                f"--{task}-{side}",
                metavar="ID_OR_PATH",
                help=f"{task} {side} checkpoint (env {registry.env_var(task, side)}; "
                f"default {registry.TASKS[task].defaults[side]})",
            )
    parser.add_argument("--threads", type=int, help="torch threads (env DISTILBERT_DEMO_THREADS; default all cores)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    threads = measure.configure_threads(args.threads)
    overrides = {
        (task, side): getattr(args, f"{task}_{side}".replace("-", "_"))
        for task in registry.TASKS
        for side in registry.SIDES
        if getattr(args, f"{task}_{side}".replace("-", "_"))
    }
    started = time.perf_counter()
    store = ModelStore(overrides)
    # The pairs every tab is laid out from load before the page is served; question answering
    # loads right after, in the background (the banner says so until it is ready).
    for task in ("fill-mask", "sentiment"):
        store.pair(task)
    logging.info("models ready in %.1f s on %s with %d threads", time.perf_counter() - started, store.device, threads)
    store.load_in_background([task for task in registry.TASKS if task not in ("fill-mask", "sentiment")])

    from distilbert_demo import ui  # gradio is imported only once the models are in memory

    app = ui.build_app(store)
    ui.serve(app, server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
