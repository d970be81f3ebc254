"""The page shell: flags, the background load, the banner, the tabs composed, serving.

Each tab lives in its feature's folder (compare/tab.py, attention/tab.py, ...); this module only
puts them on one page. `python app.py` and `python -m distilbert_demo.ui` both run `main`.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import threading
import time

import gradio as gr

from . import doctor, flags, gpu, links, markup, measure, registry, resources
from .attention import core as attention_core
from .attention.tab import attention_tab
from .bench.tab import bench_tab
from .compare import core as compare_core
from .compare.tab import compare_tab
from .distill.tab import distill_tab
from .evaluate.tab import evaluate_tab
from .explain.tab import explain_tab
from .inputs import MAX_UPLOAD_BYTES
from .kept import KEPT
from .ladder.tab import ladder_tab
from .loading import ModelStore
from .storage import MAX_SESSIONS, SESSION_TTL_S, STORAGE, exit_on_sigterm
from .tabs import MODEL_QUEUE, PRESENTER_HIDE, PRESENTER_ONLY, guarded

MAX_QUEUE = 64  # waiting requests beyond this get Gradio's "queue is full, try again later"
BANNER_REFRESH_S = 2.0
CACHE_SWEEP_S = max(1, min(60, int(SESSION_TTL_S / 2)))  # how often Gradio looks for expired files


def banner_text(store: ModelStore) -> str:
    """Which checkpoints are loaded, from where, on which device; pairs still loading say so."""
    loaded = store.loaded_pairs()
    done = {p.task for p in loaded} | set(store.failures)
    loading = tuple(task for task in registry.TASKS if task not in done)
    return markup.banner(loaded, measure.device_name(store.device), measure.threads(), loading, store.failures)


def loading_text(store: ModelStore) -> str:
    """Presenter mode's stand-in for the banner: what is still loading, "" once all is ready."""
    ready = tuple(pair.task for pair in store.loaded_pairs())
    loading = tuple(task for task in registry.TASKS if task not in ready and task not in store.failures)
    return markup.loading_line(ready, loading, store.failures)


def banner_update(store: ModelStore):
    """The banner, presenter mode's loading line (gone once nothing is loading or failed), and
    their timer, on only while a pair is still loading."""
    line = loading_text(store)
    return banner_text(store), gr.Markdown(line, visible=bool(line)), gr.Timer(active=not store.settled())


def self_check_handler(store: ModelStore):
    def self_check() -> str:
        """Check the checkpoints this server has loaded against transformers.pipeline (scores within
        1e-5) and their model cards' published example outputs (within 2e-3); untrained twins are
        skipped. Returns the report as a Markdown table (pass / fail with expected and got / skip and why).
        """
        models = [model for pair in store.loaded_pairs() for model in pair.sides()]
        return markup.self_check(doctor.run(models))

    checked = guarded("running the self-check")(self_check)
    return gpu.on_gpu("self_check", 60)(checked)  # every loaded checkpoint against the pipeline


def _self_check_panel(store: ModelStore) -> None:
    title = "Self-check: do these weights give the published answers?"
    with gr.Accordion(title, open=False, elem_classes=PRESENTER_HIDE):
        gr.Markdown(
            "Checks every loaded checkpoint against `transformers.pipeline` (scores within "
            f"{doctor.PIPELINE_TOLERANCE:g}) and against its model card's published example (within "
            f"{doctor.PUBLISHED_TOLERANCE:g}); the same checks as `distilbert-demo doctor`."
        )
        button = gr.Button("Run the self-check", size="sm", elem_id="self-check-run")
        result = gr.Markdown(label="Self-check report", elem_id="self-check")
    button.click(self_check_handler(store), outputs=result, concurrency_id=MODEL_QUEUE, api_name="self_check")


def forget_session(request: gr.Request) -> None:
    STORAGE.forget_session(request.session_hash)
    KEPT.forget_session(request.session_hash)


def build_app(store: ModelStore, web_url: str | None = None) -> gr.Blocks:
    """The page, laid out from the checkpoints' configs: it can be served while the weights are
    still loading in the background (the banner, redrawn on every page load, says which), and a
    request for a pair that is still loading waits for it. With `web_url` (the static page's
    address), presenter mode offers it to the audience's phones as a QR code."""

    # Files handed to the page are copied into Gradio's cache; this deletes them with the session TTL.
    # Students' zips are served from STORAGE's own folder, not copied (they are capped there).
    (STORAGE.root / "students").mkdir(parents=True, exist_ok=True)
    gr.set_static_paths([STORAGE.root / "students"])
    with gr.Blocks(title="BERT vs DistilBERT", delete_cache=(CACHE_SWEEP_S, int(SESSION_TTL_S))) as app:
        gr.Markdown("# BERT vs DistilBERT, side by side", elem_classes=PRESENTER_HIDE)
        presenter, copy, link_box = _view_bar()
        if web_url:
            gr.HTML(markup.phones_link(web_url), elem_id="phones-box", padding=False)
        banner = gr.Markdown(banner_text(store), elem_id="banner", elem_classes=PRESENTER_HIDE)
        # On stage the banner is hidden: one slim line says what is still loading, then goes.
        line = loading_text(store)
        loading_line = gr.Markdown(line, visible=bool(line), elem_id="loading-line", elem_classes=PRESENTER_ONLY)
        # Redrawn every BANNER_REFRESH_S seconds while pairs load, then the timer stops itself.
        timer = gr.Timer(BANNER_REFRESH_S, active=not store.settled())
        shown = [banner, loading_line, timer]
        timer.tick(lambda: banner_update(store), outputs=shown, queue=False, api_visibility="private")
        app.load(lambda: banner_update(store), outputs=shown, queue=False, api_visibility="private")
        _self_check_panel(store)
        # A handle to this visitor's distilled student, once they choose to use it (storage.py keeps it).
        student_state = gr.State(None, time_to_live=SESSION_TTL_S)
        app.unload(forget_session)  # a closed tab takes its student and downloads with it
        builders = {
            "compare": lambda: compare_tab(store, student_state),
            "attention": lambda: attention_tab(store, student_state),
            "explain": lambda: explain_tab(store),
            "distill": lambda: distill_tab(store, student_state),
            "evaluate": lambda: evaluate_tab(store),
            "benchmark": lambda: bench_tab(store),
            "ladder": lambda: ladder_tab(store),
        }
        assert set(builders) == set(links.TABS), "links.TABS lists the page's tabs"
        built = {}
        with gr.Tabs() as tabs:
            for tab_id, label in links.TABS.items():  # in links.TABS's order
                with gr.Tab(label, id=tab_id, elem_id=f"tab-{tab_id}"):
                    built[tab_id] = builders[tab_id]()
        compare_fields, attention_fields = built["compare"], built["attention"]
        # A link opens a view: ?tab=attention&example=2&presenter=1 (a speaker's bookmarks; a reload keeps it).
        app.load(
            open_view,
            outputs=[tabs, presenter, built["evaluate"], *compare_fields, *attention_fields],
            queue=False,
            api_visibility="private",
        )
        _wire_view_bar(presenter, copy, link_box, compare_fields, attention_fields)
    return app


def _view_bar() -> tuple[gr.Checkbox, gr.Button, gr.Textbox]:
    """The presenter switch and the "copy link to this view" button, above the tabs."""
    with gr.Row(elem_id="view-bar"):
        presenter = gr.Checkbox(
            label="Presenter mode",
            value=False,
            elem_id="presenter-toggle",
            scale=2,
            container=False,
        )
        copy = gr.Button("Copy link to this view", size="sm", elem_id="copy-link", scale=1)
        link_box = gr.Textbox(
            show_label=False,
            placeholder="(link)",
            interactive=False,
            elem_id="view-link",
            scale=3,
            container=False,
            buttons=["copy"],
        )
    return presenter, copy, link_box


def _wire_view_bar(presenter: gr.Checkbox, copy: gr.Button, link_box: gr.Textbox, compare_fields, attention_fields):
    # The switch restyles the page in the browser (page.js): no round trip, results stay on screen.
    presenter.change(None, inputs=presenter, js="(on) => window.distilbertDemo.presenter(on)")
    # The tab on screen is read in the browser, the query built here, the link copied in the browser.
    tab_box = gr.Textbox(visible=False)
    copy.click(
        view_query,
        inputs=[tab_box, presenter, *compare_fields, *attention_fields],
        outputs=link_box,
        js="(tab, ...rest) => [window.distilbertDemo.currentTab(), ...rest]",
        queue=False,
        api_visibility="private",
    ).then(None, inputs=link_box, outputs=link_box, js="(query) => window.distilbertDemo.copyLink(query)")


def view_query(tab, presenter, task, text, question, attention_task, attention_text) -> str:
    """The query string of what is on screen (links.py); the browser turns it into a full link."""
    tab = links.on_screen(tab)  # the browser sends the ids of every selected tab, outermost first
    if tab == "attention":
        return links.query(tab, attention_task, attention_text, presenter=presenter)
    return links.query(tab, task, text, question, presenter=presenter)


def open_view(request: gr.Request):
    """The tab (and the view inside it), the presenter switch and the text a link asks for
    (links.py); what it does not name stays as it is. The Attention tab gets the same text as Compare."""
    view = links.parse(dict(request.query_params) if request is not None else {})
    tab = gr.Tabs(selected=view.tab) if view.tab else gr.skip()
    inner = gr.Tabs(selected=view.inner) if view.inner else gr.skip()  # only Evaluate has views inside
    presenter = True if view.presenter else gr.skip()
    if view.task is None or view.text is None:
        return (tab, presenter, inner, *[gr.skip()] * 5)
    return (tab, presenter, inner, view.task, view.text, view.question or "", view.task, view.text)


def mcp_wanted(flag: bool | None = None) -> bool:
    """The MCP server is on unless turned off (--no-mcp, or DISTILBERT_DEMO_MCP=0), and needs gradio[mcp]."""
    off = os.environ.get("DISTILBERT_DEMO_MCP", "1").lower() in {"0", "false", "no"}
    wanted = flag if flag is not None else not off
    if wanted and importlib.util.find_spec("mcp") is None:
        logging.warning("the MCP server needs gradio[mcp] (pip install 'gradio[mcp]'); serving without it")
        return False
    return wanted


def serve(app: gr.Blocks, mcp: bool | None = None, **launch_args) -> gr.Blocks:
    """Queue and launch the way a shared public server should (app.py and the tests both use it).

    Gradio 6 takes theme and css in launch(); share stays off; the analytics calls are disabled
    by GRADIO_ANALYTICS_ENABLED=False, which the package sets before gradio is imported. With the
    MCP server on, every named endpoint is also an MCP tool at /gradio_api/mcp/.
    """
    app.queue(default_concurrency_limit=1, max_size=MAX_QUEUE)
    app.launch(
        mcp_server=mcp_wanted(mcp),
        css=resources.page_css(),
        js=resources.page_js(),
        theme=gr.themes.Soft(),
        share=False,
        ssr_mode=False,
        footer_links=["api"],  # the API page also shows how to connect an MCP client
        max_file_size=MAX_UPLOAD_BYTES,  # every upload is refused past this, before our code runs
        state_session_capacity=MAX_SESSIONS,
        **launch_args,
    )
    return app


WEB_URL_ENV = "DISTILBERT_DEMO_WEB_URL"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The app's flags; `overrides` gathers the checkpoints they name, {(task, side): source}."""
    parser = argparse.ArgumentParser(description="BERT vs DistilBERT explorer (Gradio app)")
    flags.add_checkpoint_flags(parser)
    parser.add_argument("--threads", type=int, help="torch threads (env DISTILBERT_DEMO_THREADS; default all cores)")
    parser.add_argument(
        "--no-mcp", dest="mcp", action="store_false", default=None, help="no MCP server (env DISTILBERT_DEMO_MCP=0)"
    )
    parser.add_argument(
        "--web-url",
        default=os.environ.get(WEB_URL_ENV) or None,
        help=f"the static page's address (a Static Space): presenter mode shows it as a QR code (env {WEB_URL_ENV})",
    )
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    args.overrides = flags.checkpoint_overrides(parser, args)
    if args.web_url and not args.web_url.startswith(("https://", "http://")):
        parser.error(f"--web-url must be an http(s) address, not {args.web_url!r}")
    return args


def warm_examples(store: ModelStore) -> int:
    """Run every shipped example once through the loaded pairs, as Compare and Attention run them,
    so that a speaker's first click does not pay for first-call costs (kernel selection, allocator
    growth, lazy initialisation). Results are thrown away; returns how many examples ran. Not on
    ZeroGPU, where a GPU exists only inside a call."""
    if gpu.ZERO_GPU:
        return 0
    warmed = 0
    for pair in store.loaded_pairs():
        rows = [row for row in resources.example_rows() if row[0] == pair.task]
        for _, text, question in rows:
            compare_core.compare_pair(pair, text, repeats=1, warmup=1, question=question)
            warmed += 1
        if rows:  # attention runs the eager kernels: one extraction per model warms them
            attention_core.extract(pair.bert, rows[0][1], pair.task)
            attention_core.extract(pair.distilbert, rows[0][1], pair.task)
    return warmed


def _when_ready(loader: threading.Thread, started: float, store: ModelStore, threads: int) -> None:
    loader.join()
    logging.info("models ready in %.1f s on %s with %d threads", time.perf_counter() - started, store.device, threads)
    started = time.perf_counter()
    try:
        warmed = warm_examples(store)
    except Exception:  # noqa: BLE001 - a failed warm-up costs a slow first click, never the server
        logging.exception("warming the examples failed")
        return
    logging.info("%d examples warmed up in %.1f s", warmed, time.perf_counter() - started)


def create_app(args: argparse.Namespace) -> gr.Blocks:
    """The store from flags and environment, its weights loading, and the page."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    threads = measure.configure_threads(args.threads)
    store = ModelStore(args.overrides)
    started = time.perf_counter()
    if gpu.ZERO_GPU:
        # Every call runs in a worker forked from the server as it is then (gpu.py): the weights load
        # before launch, so that no worker is forked from a server still loading them, and the
        # tensors on the GPU are packed at launch (spaces/zero/__init__.py: startup).
        store.load(list(registry.TASKS))
        logging.info("models ready in %.1f s on %s (ZeroGPU)", time.perf_counter() - started, store.device)
        return build_app(store, web_url=args.web_url)
    # The page is laid out from configs and served at once; the weights load in the background
    # (fill-mask first), the banner says what is still loading, and a request waits for its pair.
    loader = store.load_in_background(list(registry.TASKS))
    threading.Thread(target=_when_ready, args=(loader, started, store, threads), daemon=True).start()
    return build_app(store, web_url=args.web_url)


def main(argv: list[str] | None = None) -> None:
    exit_on_sigterm()
    args = parse_args(argv)
    serve(create_app(args), mcp=args.mcp, server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
