"""Benchmark: both models in headless Chromium (the static page, WebAssembly with threads) and in
PyTorch and ONNX Runtime on the same machine, fp32 and 8-bit, at 16 and 128 tokens.

    python -m benchmarks.web_vs_torch [--lengths 16 128] [--runs 30] [--models DIR]

The sentiment pair (offline: the architecture twins) is exported with export-web (into --models, kept
for the next run, or a temp folder) and served by `distilbert-demo web`'s server; the page times both
models itself (interleaved runs after warm-up, its own figures) on a text of each length. On the
Python side the same inputs run through PyTorch (fp32, and torchao's int8 as the ladder's `int8`
rung) and through ONNX Runtime on the very files the browser loads (model.onnx,
model_quantized.onnx), timed interleaved (measure.time_interleaved). Prints median ms per model and
DistilBERT's speed-up in each runtime, the machine and the thread counts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import torch

from distilbert_demo import measure, variants
from distilbert_demo.loading import load_model
from distilbert_demo.sized_inputs import ids_of_length
from distilbert_demo.webpage import export, serve, site

SIDES = ("bert", "distilbert")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def page_figures(url: str, texts: dict[int, str], runs: int) -> dict:
    """{(length, dtype): lastResult} from the page, one load of the page per figure."""
    from playwright.sync_api import sync_playwright

    figures = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for dtype in ("fp32", "q8"):
            for length, text in texts.items():
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                query = urlencode({"task": "sentiment", "text": text, "dtype": dtype, "runs": runs})
                page.goto(f"{url}?{query}", wait_until="load")
                page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)", timeout=900_000)
                result = page.evaluate("window.lastResult")
                if result is None:
                    raise SystemExit(f"the page failed: {page.inner_text('#message')}")
                figures[(length, dtype)] = result
                page.close()
        browser.close()
    return figures


def python_figures(loaded: dict, models: Path, texts: dict[int, str], runs: int) -> dict:
    """{(length, runtime): {side: LatencyStats}} for PyTorch fp32 / int8 and ONNX Runtime on the page's files."""
    forwards = {}
    for side, model in loaded.items():
        folder = models / export.folder_name("sentiment", side)
        int8 = variants.build(model, "int8", models)
        forwards[side] = {
            "PyTorch fp32": lambda inputs, m=model.model: m(**inputs).logits,
            "PyTorch int8 (torchao)": int8.forward,
            "ONNX Runtime fp32": _ort(variants.ort_session(folder / export.FP32)),
            "ONNX Runtime 8-bit": _ort(variants.ort_session(folder / export.QUANTIZED)),
        }
    figures = {}
    for length, text in texts.items():
        inputs = {side: _inputs(model, text) for side, model in loaded.items()}
        for runtime in forwards["bert"]:
            runs_by_side = {s: (lambda f=forwards[s][runtime], x=inputs[s]: f(x)) for s in SIDES}
            figures[(length, runtime)] = measure.time_interleaved(runs_by_side, repeats=runs)
    return figures


def _inputs(model, text: str) -> dict[str, torch.Tensor]:
    encoded = model.tokenizer(text, return_tensors="pt")
    return {k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def _ort(session):
    names = {i.name for i in session.get_inputs()}
    return lambda inputs: session.run(None, {k: v.numpy() for k, v in inputs.items() if k in names})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds per figure (after warm-up)")
    parser.add_argument("--models", help="keep the exports here and reuse them (default: a temp folder)")
    args = parser.parse_args()
    threads = measure.configure_threads(None)
    models = Path(args.models) if args.models else Path(tempfile.mkdtemp(prefix="web-bench-"))
    try:
        loaded = {side: load_model("sentiment", side) for side in SIDES}
        for side, model in loaded.items():
            folder = models / export.folder_name("sentiment", side)
            if not export.holds(folder, model):
                print(f"exporting {model.name} ...", flush=True)
                export.export_web(model, folder)
        # texts of an exact token count, through BERT's tokenizer (both tokenizers agree on these words)
        texts = {
            n: loaded["bert"].tokenizer.decode(ids_of_length(loaded["bert"].tokenizer, n, False)) for n in args.lengths
        }
        server = serve.make_server(
            models,
            site.site_config(site.local_models({("sentiment", s): m for s, m in loaded.items()}), local=True),
            port=0,
        )
        serve.serve_in_background(server)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        browser = page_figures(url, texts, args.runs)
        server.shutdown()
        python = python_figures(loaded, models, texts, args.runs)

        sources = ", ".join(f"{m.name} ({m.source})" for m in loaded.values())
        device = next(iter(browser.values()))["device"]
        print(f"\n{measure.cpu_name()}; load average {os.getloadavg()[0]:.2f}; sentiment pair: {sources}")
        print(
            f"PyTorch and ONNX Runtime: {threads} threads, torch {torch.__version__}; browser: {device['label']}, "
            f"transformers.js {site.transformers_js_version()}; {args.runs} interleaved rounds per figure, batch 1"
        )
        print(f"{'tokens':>6}  {'runtime':<34} {'BERT ms':>9} {'DistilBERT ms':>14} {'speed-up':>9}")
        for length in args.lengths:
            rows = [
                (f"browser WASM {'fp32' if d == 'fp32' else '8-bit'}", browser[(length, d)]["models"])
                for d in ("fp32", "q8")
            ]
            for label, side_figures in rows:
                b, d = (side_figures[s]["latency_ms"]["median_ms"] for s in SIDES)
                tokens = "/".join(str(side_figures[s]["num_tokens"]) for s in SIDES)
                print(f"{length:>6}  {label + ' (' + tokens + ' tok)':<34} {b:9.1f} {d:14.1f} {b / d:8.2f}x")
            for runtime in ("PyTorch fp32", "PyTorch int8 (torchao)", "ONNX Runtime fp32", "ONNX Runtime 8-bit"):
                stats = python[(length, runtime)]
                b, d = stats["bert"].median_ms, stats["distilbert"].median_ms
                print(f"{length:>6}  {runtime:<34} {b:9.1f} {d:14.1f} {b / d:8.2f}x")
    finally:
        if not args.models:
            shutil.rmtree(models, ignore_errors=True)


if __name__ == "__main__":
    main()
