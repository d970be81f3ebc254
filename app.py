"""Entry point: parse flags, load the models once, build the UI, launch (Hugging Face Spaces runs this).

    python app.py [--fill-mask-bert ID_OR_PATH] [--sentiment-distilbert ID_OR_PATH] [--threads N] ...

Every flag has an environment variable (DISTILBERT_DEMO_<TASK>_<SIDE>, DISTILBERT_DEMO_THREADS,
DISTILBERT_DEMO_DEVICE); Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
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


def _log_when_ready(loader: threading.Thread, started: float, store: ModelStore, threads: int) -> None:
    loader.join()
    logging.info("models ready in %.1f s on %s with %d threads", time.perf_counter() - started, store.device, threads)


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
    store = ModelStore(overrides)
    # The page is laid out from configs and served at once; the weights load in the background
    # (fill-mask first), the banner says what is still loading, and a request waits for its pair.
    started = time.perf_counter()
    loader = store.load_in_background(list(registry.TASKS))
    threading.Thread(target=_log_when_ready, args=(loader, started, store, threads), daemon=True).start()

    from distilbert_demo import ui  # gradio imports while the weights load

    app = ui.build_app(store)
    ui.serve(app, server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
