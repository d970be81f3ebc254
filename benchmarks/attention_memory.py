"""Benchmark: what per-visitor Attention views cost a server, and that the budget holds.

    python -m benchmarks.attention_memory [--sessions 60] [--tokens 512]

First, in this process: the bytes one kept Attention view holds at 16, 128 and 512 tokens for the
default fill-mask pair (offline: the bert-base twins) and how many the budget keeps at once. Then
`python app.py` with the default settings is started; once its models are loaded and its examples
warmed up, `--sessions` new visitors (gradio_client) each extract a `--tokens`-token text, one
after another. The server's resident memory is sampled throughout: after start-up, the peak, and
after the last extraction. Done when what is left above start-up is within the budget.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from gradio_client import Client

from distilbert_demo import kept, measure
from distilbert_demo.attention import session as attention_session
from distilbert_demo.loading import ModelStore

ROOT = Path(__file__).resolve().parent.parent
MiB = 2**20


def text_of(tokenizer, tokens: int) -> str:
    """A text of exactly `tokens` tokens with [CLS] and [SEP]: a word the tokenizer keeps whole, repeated."""
    word = next(w for w in ("the", "a", "of", "and", "word") if len(tokenizer.tokenize(w)) == 1)
    return " ".join([word] * (tokens - 2))


def view_sizes(pair, lengths: list[int]) -> None:
    print(f"one kept Attention view, {pair.bert.name} ({pair.bert.source}) + {pair.distilbert.name}, float16 maps")
    print(f"{'tokens':>6} {'MiB':>8} {'views in the budget':>20}")
    for tokens in lengths:
        state = attention_session.compact(attention_session.analyse(pair, text_of(pair.bert.tokenizer, tokens), ""))
        size = kept.size_of(state)
        print(f"{len(state.bert.tokens):>6} {size / MiB:>8.2f} {kept.VIEWS_BYTES // size:>20}")
    print(
        f"budget: {kept.BUDGET_BYTES / MiB:.0f} MiB (DISTILBERT_DEMO_STATE_BUDGET_MB), of which "
        f"{kept.VIEWS_BYTES / MiB:.0f} MiB for views\n"
    )


def serve() -> tuple[subprocess.Popen, str, Path]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"attention-memory-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = log.open("w")
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--no-mcp"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 600
    while "examples warmed up" not in log.read_text():  # the models are loaded and the examples ran
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the app did not start:\n{log.read_text()[-2000:]}")
        time.sleep(1)
    return server, url, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60, help="0: only the sizes, no server")
    parser.add_argument("--tokens", type=int, default=512)
    args = parser.parse_args()
    print(f"{measure.cpu_name()}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    pair = ModelStore().pair("fill-mask")
    view_sizes(pair, [16, 128, 512])
    if not args.sessions:
        return
    text = text_of(pair.bert.tokenizer, args.tokens)
    del pair
    server, url, log = serve()
    rss = lambda: psutil.Process(server.pid).memory_info().rss  # noqa: E731 - one line, read often
    try:
        time.sleep(5)
        started = rss()
        peak, done = started, threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began, answered, visitors = time.monotonic(), 0, []
        for _ in range(args.sessions):  # each visitor stays (a closed session's views are dropped at once)
            visitors.append(Client(url, verbose=False, download_files=False))
            out = visitors[-1].predict("fill-mask", text, "", api_name="/attention")
            answered += out[-1]["models"]["bert"]["layers"] > 0
        took = time.monotonic() - began
        time.sleep(2)
        done.set()
        sampler.join()
        after = rss()
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=60)
    budget = kept.BUDGET_BYTES
    print(
        f"{args.sessions} sessions x {args.tokens}-token Attention in {took:.0f} s ({answered} answered); "
        f"server up throughout: {alive}"
    )
    print(
        f"resident memory: after start-up {started / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB, "
        f"after {after / MiB:.0f} MiB; above start-up after: {(after - started) / MiB:.0f} MiB "
        f"(budget {budget / MiB:.0f} MiB: {'within' if after - started <= budget else 'OVER'})"
    )
    log.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
