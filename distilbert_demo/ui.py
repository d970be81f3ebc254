"""The Gradio app: layout and wiring only. Every number comes from the package's functions."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import gradio as gr
import torch

from . import attention_plots, attention_session, compare, plots, registry, ui_bench, ui_distill, ui_evaluate, views
from .inputs import InputError
from .loading import LoadedModel, LoadError, ModelStore, Pair
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
    """[task, text, question] rows; for question answering the text is the context."""
    rows = []
    for task, examples in json.loads(EXAMPLES.read_text("utf-8")).items():
        for example in examples:
            rows.append([task, example[1], example[0]] if isinstance(example, list) else [task, example, ""])
    return rows


def session_pair(store: ModelStore, task: str, student: LoadedModel | None) -> Pair:
    """The loaded pair, with this visitor's distilled student as the DistilBERT side if they chose so."""
    pair = store.pair(task)
    if student is not None and task == "fill-mask":
        return Pair("fill-mask", pair.bert, student)
    return pair


def compare_handler(store: ModelStore):
    """Build the /compare handler: (task, text, top_k, repeats, question) -> the page's outputs.

    For question answering `text` is the context. The outputs: notice, verdict, then per model a
    chart and metrics, the latency chart, the JSON result, and (qa) each model's answer in context.
    """

    def failed(message: str):
        return (views.notices([message], error=True), "", None, "", None, "", None, "", "", {"error": message})

    def run(
        task: str,
        text: str,
        top_k: float,
        repeats: float,
        question: str = "",
        student: LoadedModel | None = None,
    ):
        if task not in registry.TASKS:
            return failed(f"Unknown task; choose one of: {', '.join(registry.TASKS)}.")
        try:
            pair = session_pair(store, task, student)
            result = compare.compare(pair, text, top_k=int(top_k), repeats=int(repeats), question=question)
        except InputError as err:
            return failed(str(err))
        except LoadError as err:
            return failed(f"The {task} models could not be loaded: {err}")
        except Exception:  # noqa: BLE001 - the page gets a message, the log gets the traceback
            log.exception("compare failed")
            return failed("Something went wrong while running the models; the error was logged. Please try again.")
        outputs = [result.bert, result.distilbert]
        figs = [plots.predictions_figure(report.output, side) for report, side in zip(outputs, registry.SIDES)]
        latency = plots.latency_figure(
            {s: r.latency.median_ms for s, r in zip(registry.SIDES, outputs)},
            {s: r.latency.p90_ms for s, r in zip(registry.SIDES, outputs)},
        )
        answers = [views.answer_in_context(result.text, r.output.predictions) if task == "qa" else "" for r in outputs]
        return (
            views.notices(result.notices),
            views.summary(result),
            figs[0],
            views.metrics_table(result.bert),
            figs[1],
            views.metrics_table(result.distilbert),
            latency,
            *answers,
            result.to_dict(),
        )

    return run


def _table(frame):
    """Floats as 4 significant digits, so the table shows 0.0134, not 0.013399999."""
    return frame.apply(lambda col: col.map("{:.4g}".format) if col.dtype.kind == "f" else col)


def attention_handlers(store: ModelStore):
    """Handlers of the Attention tab. Only `analyse` runs the models; the rest redraw from state."""

    def analyse(task: str, text: str, layer_map: str, student: LoadedModel | None = None):
        """(task, text, layer map) -> state, message, every figure, the best-match table, JSON."""
        try:
            if task not in registry.TASKS:
                raise InputError(f"Unknown task; choose one of: {', '.join(registry.TASKS)}.")
            session = attention_session.analyse(session_pair(store, task, student), text, layer_map)
        except InputError as err:
            return (None, views.notices([str(err)], error=True), *[None] * 9, {"error": str(err)})
        except Exception:  # noqa: BLE001 - the page gets a message, the log gets the traceback
            log.exception("attention failed")
            message = "Something went wrong while extracting attention; the error was logged. Please try again."
            return (None, views.notices([message], error=True), *[None] * 9, {"error": message})
        pick_d = (0, 0)
        pick_b = (session.layer_map[0], 0)
        fig_b, fig_d = attention_session.head_figures(session, *pick_b, *pick_d)
        view_b, view_d = attention_session.model_views(session, pick_b, pick_d)
        csv_path = Path(tempfile.mkdtemp(prefix="attention-")) / "attention_summaries.csv"
        csv_path.write_bytes(attention_session.summaries_csv(session))
        return (
            session,
            views.notices(session.notices),
            attention_session.alignment_markdown(session, 0),
            fig_b,
            fig_d,
            view_b,
            view_d,
            attention_plots.summaries_figure(session.summaries, session.layer_map),
            str(csv_path),
            None
            if session.divergence is None
            else attention_plots.divergence_figure(session.divergence, session.layer_map),
            _table(attention_session.best_matches(session)),
            attention_session.to_json(session),
        )

    def redraw(session, bert_layer, bert_head, distil_layer, distil_head, hide_special, threshold):
        if session is None:
            return (gr.skip(),) * 5
        figs = attention_session.head_figures(
            session, bert_layer, bert_head, distil_layer, distil_head, hide_special, threshold
        )
        pick_b = (
            attention_session.clamp(bert_layer, session.bert.layers),
            attention_session.clamp(bert_head, session.bert.heads),
        )
        pick_d = (
            attention_session.clamp(distil_layer, session.distilbert.layers),
            attention_session.clamp(distil_head, session.distilbert.heads),
        )
        views_ = attention_session.model_views(session, pick_b, pick_d)
        return (*figs, *views_, attention_session.alignment_markdown(session, distil_layer))

    def follow_layer(session, distil_layer):
        """Moving the DistilBERT layer moves BERT to the layer it was initialised from."""
        if session is None:
            return gr.skip()
        return session.layer_map[attention_session.clamp(distil_layer, session.distilbert.layers)]

    def select_head(side: str):
        def on_select(session, event: gr.SelectData):
            maps = None if session is None else session.sides()[side]
            cell = None if maps is None else attention_plots.cell_at(*event.index, maps.layers, maps.heads)
            return (gr.skip(), gr.skip()) if cell is None else cell

        return on_select

    def relink(session, layer_map: str):
        if session is None:
            return (gr.skip(),) * 5
        try:
            session = attention_session.with_layer_map(session, layer_map)
        except InputError as err:
            return (gr.skip(), views.notices([str(err)], error=True), gr.skip(), gr.skip(), gr.skip())
        div = None
        if session.divergence is not None:
            div = attention_plots.divergence_figure(session.divergence, session.layer_map)
        return (
            session,
            views.notices(session.notices),
            attention_plots.summaries_figure(session.summaries, session.layer_map),
            div,
            _table(attention_session.best_matches(session)),
        )

    return analyse, redraw, follow_layer, select_head, relink


def _attention_tab(store: ModelStore, student_state: gr.State) -> None:
    bert_config, distil_config = store.config("fill-mask", "bert"), store.config("fill-mask", "distilbert")
    teacher_layers, student_layers = bert_config.num_hidden_layers, distil_config.n_layers
    heads = bert_config.num_attention_heads
    analyse, redraw, follow_layer, select_head, relink = attention_handlers(store)
    examples = json.loads(EXAMPLES.read_text("utf-8"))

    state = gr.State(None)
    with gr.Row():
        task = gr.Radio(list(registry.TASKS), value="fill-mask", label="Model pair", scale=1)
        layer_map = gr.Textbox(
            label="Layer map (BERT layer for each DistilBERT layer)",
            placeholder=", ".join(
                map(str, attention_session.attention.default_layer_map(teacher_layers, student_layers))
            ),
            info="Empty: the DistilBERT paper's initialisation. Press Enter to re-align without re-running.",
            scale=2,
            elem_id="layer-map",
        )
    text = gr.Textbox(label="Text", value=examples["fill-mask"][0], lines=2, elem_id="attention-text")
    run = gr.Button("Show attention", variant="primary", elem_id="attention-run")
    notice = gr.Markdown(elem_id="attention-notice")
    alignment = gr.Markdown(elem_id="alignment")
    with gr.Row():
        distil_layer = gr.Slider(
            0, student_layers - 1, value=0, step=1, label="DistilBERT layer", elem_id="distil-layer"
        )
        distil_head = gr.Slider(0, heads - 1, value=0, step=1, label="DistilBERT head", elem_id="distil-head")
        bert_layer = gr.Slider(0, teacher_layers - 1, value=0, step=1, label="BERT layer", elem_id="bert-layer")
        bert_head = gr.Slider(0, heads - 1, value=0, step=1, label="BERT head", elem_id="bert-head")
    with gr.Row():
        hide_special = gr.Checkbox(label="Hide [CLS] / [SEP]", value=False)
        threshold = gr.Slider(0, 1, value=0, step=0.05, label="Hide weights below")
    with gr.Row(equal_height=False):
        bert_map = gr.Plot(label="BERT head", elem_id="bert-head-map")
        distil_map = gr.Plot(label="DistilBERT head", elem_id="distil-head-map")
    gr.Markdown("**Model view**: every layer (rows) × head (columns); click a head to select it.")
    with gr.Row(equal_height=False):
        bert_view = gr.Image(label="BERT: all heads", interactive=False, elem_id="bert-model-view", format="png")
        distil_view = gr.Image(
            label="DistilBERT: all heads", interactive=False, elem_id="distil-model-view", format="png"
        )
    summaries = gr.Plot(label="Per-layer summaries", elem_id="attention-summaries")
    csv_file = gr.File(label="Summaries (CSV)", elem_id="attention-csv")
    divergence = gr.Plot(label="Head similarity", elem_id="head-divergence")
    best = gr.Dataframe(label="Best BERT match of each DistilBERT head", elem_id="best-matches", max_height=300)
    with gr.Accordion("Raw result (JSON)", open=False):
        raw = gr.JSON(label="Attention result")

    sliders = [bert_layer, bert_head, distil_layer, distil_head, hide_special, threshold]
    drawn = [bert_map, distil_map, bert_view, distil_view, alignment]
    run.click(
        analyse,
        inputs=[task, text, layer_map, student_state],
        outputs=[
            state,
            notice,
            alignment,
            bert_map,
            distil_map,
            bert_view,
            distil_view,
            summaries,
            csv_file,
            divergence,
            best,
            raw,
        ],
        api_name="attention",
        concurrency_limit=1,
        concurrency_id=MODEL_QUEUE,
    ).then(lambda: (0, 0), outputs=[distil_layer, distil_head], api_visibility="private")
    for control in sliders:
        control.change(
            redraw, inputs=[state, *sliders], outputs=drawn, trigger_mode="always_last", api_visibility="private"
        )
    distil_layer.change(follow_layer, inputs=[state, distil_layer], outputs=bert_layer, api_visibility="private")
    distil_head.change(lambda head: head, inputs=distil_head, outputs=bert_head, api_visibility="private")
    bert_view.select(select_head("bert"), inputs=state, outputs=[bert_layer, bert_head], api_visibility="private")
    distil_view.select(
        select_head("distilbert"), inputs=state, outputs=[distil_layer, distil_head], api_visibility="private"
    )
    layer_map.submit(
        relink,
        inputs=[state, layer_map],
        outputs=[state, notice, summaries, divergence, best],
        api_visibility="private",
    )


def banner_text(store: ModelStore) -> str:
    """Which checkpoints are loaded, from where, on which device; pairs still loading say so."""
    loaded = store.loaded_pairs()
    loading = tuple(task for task in registry.TASKS if task not in {p.task for p in loaded})
    return views.banner(loaded, str(store.device), torch.get_num_threads(), loading)


def build_app(store: ModelStore) -> gr.Blocks:
    """The page, laid out from the checkpoints' configs: it can be served while the weights are
    still loading in the background (the banner, redrawn on every page load, says which), and a
    request for a pair that is still loading waits for it."""

    with gr.Blocks(title="BERT vs DistilBERT") as app:
        gr.Markdown("# BERT vs DistilBERT, side by side")
        banner = gr.Markdown(banner_text(store), elem_id="banner")
        app.load(lambda: banner_text(store), outputs=banner, queue=False, api_visibility="private")
        student_state = gr.State(None)  # this visitor's distilled student, once they choose to use it
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
                question = gr.Textbox(
                    label="Question (question answering: the text above is the context)",
                    value="",  # a default, so API callers of the other tasks can leave it out
                    visible=False,
                    elem_id="input-question",
                )
                gr.Examples(_examples(), inputs=[task, text, question], label="Examples (click one)")
                task.change(lambda t: gr.update(visible=t == "qa"), task, question, api_visibility="private")
                run_button = gr.Button("Run", variant="primary", elem_id="run-button")
                notice = gr.Markdown(elem_id="notice")
                verdict = gr.Markdown(elem_id="verdict", elem_classes="verdict")
                with gr.Row(equal_height=False):
                    with gr.Column(elem_id="bert-column"):
                        gr.Markdown("## BERT", elem_classes="side-title")
                        bert_fig = gr.Plot(label="BERT predictions", elem_id="bert-predictions")
                        bert_answer = gr.Markdown(elem_id="bert-answer")
                        bert_metrics = gr.Markdown(elem_id="bert-metrics")
                    with gr.Column(elem_id="distilbert-column"):
                        gr.Markdown("## DistilBERT", elem_classes="side-title")
                        distil_fig = gr.Plot(label="DistilBERT predictions", elem_id="distilbert-predictions")
                        distil_answer = gr.Markdown(elem_id="distilbert-answer")
                        distil_metrics = gr.Markdown(elem_id="distilbert-metrics")
                latency_fig = gr.Plot(label="Latency chart", elem_id="latency-chart")
                with gr.Accordion("Raw result (JSON)", open=False):
                    raw = gr.JSON(label="Result")
            with gr.Tab("Attention", id="attention"):
                _attention_tab(store, student_state)
            with gr.Tab("Distill", id="distill"):
                ui_distill.distill_tab(store, student_state)
            with gr.Tab("Evaluate", id="evaluate"):
                ui_evaluate.evaluate_tab(store)
            with gr.Tab("Benchmark", id="benchmark"):
                ui_bench.bench_tab(store)

        outputs = [
            notice,
            verdict,
            bert_fig,
            bert_metrics,
            distil_fig,
            distil_metrics,
            latency_fig,
            bert_answer,
            distil_answer,
            raw,
        ]
        handler = compare_handler(store)
        wiring = dict(
            fn=handler,
            inputs=[task, text, top_k, repeats, question, student_state],
            outputs=outputs,
            concurrency_limit=1,
            concurrency_id=MODEL_QUEUE,
        )
        run_button.click(**wiring, api_name="compare")
        text.submit(**wiring, api_visibility="private")  # Enter in the box: same handler, one API name
    return app


MAX_QUEUE = 64  # waiting requests beyond this get Gradio's "queue is full, try again later"
MAX_UPLOAD = "2mb"  # every upload (corpora, labelled sets) is refused past this, before our code runs


def serve(app: gr.Blocks, **launch_args) -> gr.Blocks:
    """Queue and launch the way a shared public server should (app.py and the tests both use it).

    Gradio 6 takes theme and css in launch(); share stays off; the analytics calls are disabled
    by GRADIO_ANALYTICS_ENABLED=False, which app.py and the tests set before importing gradio.
    """
    app.queue(default_concurrency_limit=1, max_size=MAX_QUEUE)
    app.launch(
        css=CSS,
        theme=gr.themes.Soft(),
        share=False,
        ssr_mode=False,
        footer_links=["api"],
        max_file_size=MAX_UPLOAD,
        **launch_args,
    )
    return app
