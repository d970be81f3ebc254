"""The Gradio app: layout and wiring only. Every number comes from the package's functions."""

from __future__ import annotations

import json
import logging

import gradio as gr
import torch

from . import compare, plots, registry, views
from .inputs import InputError
from .loading import ModelStore
from .twins import EXAMPLES

log = logging.getLogger(__name__)

CSS = """
.verdict h3 { margin: 0.2em 0; }
.side-title { text-align: center; }
"""
# One heavy model job at a time on a 2-core machine: requests queue instead of fighting for
# cores (and spoiling each other's timings).
MODEL_QUEUE = "models"


def _examples() -> list[list[str]]:
    by_task = json.loads(EXAMPLES.read_text("utf-8"))
    return [[task, text] for task, texts in by_task.items() for text in texts]


def compare_handler(store: ModelStore):
    """Build the /compare handler: (task, text, top_k, repeats) -> the page's outputs."""

    def run(task: str, text: str, top_k: float, repeats: float):
        empty = (None, "", None, "", None)
        if task not in registry.TASKS:
            message = f"Unknown task; choose one of: {', '.join(registry.TASKS)}."
            return (views.notices([message], error=True), "", *empty, {"error": message})
        try:
            result = compare.compare(store.pair(task), text, top_k=int(top_k), repeats=int(repeats))
        except InputError as err:
            return (views.notices([str(err)], error=True), "", *empty, {"error": str(err)})
        except Exception:  # noqa: BLE001 - the page gets a message, the log gets the traceback
            log.exception("compare failed")
            message = "Something went wrong while running the models; the error was logged. Please try again."
            return (views.notices([message], error=True), "", *empty, {"error": message})
        outputs = [result.bert, result.distilbert]
        figs = [plots.predictions_figure(report.output, side) for report, side in zip(outputs, registry.SIDES)]
        latency = plots.latency_figure(
            {s: r.latency.median_ms for s, r in zip(registry.SIDES, outputs)},
            {s: r.latency.p90_ms for s, r in zip(registry.SIDES, outputs)},
        )
        return (
            views.notices(result.notices),
            views.summary(result),
            figs[0],
            views.metrics_table(result.bert),
            figs[1],
            views.metrics_table(result.distilbert),
            latency,
            result.to_dict(),
        )

    return run


def build_app(store: ModelStore) -> gr.Blocks:
    """The page. Models must already be loaded in `store` (the banner lists them)."""
    pairs = [store.pair(task) for task in registry.TASKS]
    banner = views.banner(pairs, str(store.device), torch.get_num_threads())

    with gr.Blocks(title="BERT vs DistilBERT") as app:
        gr.Markdown("# BERT vs DistilBERT, side by side")
        gr.Markdown(banner, elem_id="banner")
        with gr.Tabs():
            with gr.Tab("Compare", id="compare"):
                with gr.Row():
                    task = gr.Radio(list(registry.TASKS), value="fill-mask", label="Task", scale=1)
                    top_k = gr.Slider(1, compare.MAX_TOP_K, value=compare.DEFAULT_TOP_K, step=1, label="Top-k", scale=1)
                    repeats = gr.Slider(
                        1, 100, value=compare.DEFAULT_REPEATS, step=1, label="Timed runs per model", scale=1
                    )
                text = gr.Textbox(
                    label="Text",
                    value=json.loads(EXAMPLES.read_text("utf-8"))["fill-mask"][0],
                    placeholder="Type a sentence; for fill-mask put [MASK] where a word is missing.",
                    lines=2,
                    elem_id="input-text",
                )
                gr.Examples(_examples(), inputs=[task, text], label="Examples (click one)")
                run_button = gr.Button("Run", variant="primary", elem_id="run-button")
                notice = gr.Markdown(elem_id="notice")
                verdict = gr.Markdown(elem_id="verdict", elem_classes="verdict")
                with gr.Row(equal_height=False):
                    with gr.Column(elem_id="bert-column"):
                        gr.Markdown("## BERT", elem_classes="side-title")
                        bert_fig = gr.Plot(label="BERT predictions", elem_id="bert-predictions")
                        bert_metrics = gr.Markdown(elem_id="bert-metrics")
                    with gr.Column(elem_id="distilbert-column"):
                        gr.Markdown("## DistilBERT", elem_classes="side-title")
                        distil_fig = gr.Plot(label="DistilBERT predictions", elem_id="distilbert-predictions")
                        distil_metrics = gr.Markdown(elem_id="distilbert-metrics")
                latency_fig = gr.Plot(label="Latency chart", elem_id="latency-chart")
                with gr.Accordion("Raw result (JSON)", open=False):
                    raw = gr.JSON(label="Result")

        outputs = [notice, verdict, bert_fig, bert_metrics, distil_fig, distil_metrics, latency_fig, raw]
        handler = compare_handler(store)
        wiring = dict(
            fn=handler,
            inputs=[task, text, top_k, repeats],
            outputs=outputs,
            concurrency_limit=1,
            concurrency_id=MODEL_QUEUE,
        )
        run_button.click(**wiring, api_name="compare")
        text.submit(**wiring, api_visibility="private")  # Enter in the box: same handler, one API name
    return app


def launch_kwargs() -> dict:
    """Arguments for app.launch() shared by app.py and the tests (Gradio 6 takes theme/css here)."""
    return {"css": CSS, "theme": gr.themes.Soft(), "share": False, "ssr_mode": False, "footer_links": ["api"]}
