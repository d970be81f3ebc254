"""The Attention tab: layout and wiring only (extraction is attention/core.py, the kept state
attention/session.py, the drawing attention/figures.py, the text attention/views.py)."""

from __future__ import annotations

import gradio as gr

from .. import inputs, kept, registry, resources
from ..gpu import on_gpu
from ..inputs import InputError
from ..kept import KEPT
from ..layer_map import default_layer_map
from ..loading import ModelStore
from ..markup import notices
from ..storage import SESSION_TTL_S, STORAGE, release_memory
from ..tabs import (
    MODEL_QUEUE,
    PRESENTER_HIDE,
    error_markdown,
    example_picker,
    guarded,
    session_of,
    student_folder,
    validator,
    visitor_pair,
    wire_example_picker,
)
from . import figures, session, views


def table(frame):
    """Floats as 4 significant digits, so the table shows 0.0134, not 0.013399999."""
    return frame.apply(lambda col: col.map("{:.4g}".format) if col.dtype.kind == "f" else col)


INPUTS = ["task", "text", "layer_map", "student"]


def input_check(store: ModelStore):
    """What can be refused before any model runs (next to the control at fault on the page)."""

    def check(task, text, layer_map=None, student=None) -> None:
        inputs.check_text(text, registry.check_task(task), require_mask=False)
        if layer_map and str(layer_map).strip() and not student:  # a student may have other layers
            layers = [store.config(task, side) for side in registry.SIDES]
            try:
                session.resolve_layer_map(layer_map, layers[0].num_hidden_layers, layers[1].n_layers)
            except InputError as err:
                raise InputError(str(err), field="layer_map") from None

    return check


def _kept(key: str | None, request) -> session.AttentionSession | None:
    """The visitor's extraction (None before the first); LookupError with the message when it expired."""
    return None if not key else KEPT.get(session_of(request), key, again="Show attention")


def redraw(key, bert_layer, bert_head, distil_layer, distil_head, hide_special, threshold, request: gr.Request = None):
    try:
        state = _kept(key, request)
    except LookupError as expired:
        return (*[gr.skip()] * 4, error_markdown(str(expired)))
    if state is None:
        return (gr.skip(),) * 5
    heads = figures.head_figures(state, bert_layer, bert_head, distil_layer, distil_head, hide_special, threshold)
    grids = figures.model_views(state, (bert_layer, bert_head), (distil_layer, distil_head))
    return (*heads, *grids, views.alignment_markdown(state, distil_layer, bert_layer))


def follow_layer(key, distil_layer, request: gr.Request = None):
    """Moving the DistilBERT layer moves BERT to the layer it was initialised from."""
    try:
        state = _kept(key, request)
    except LookupError:  # the redraw says so
        return gr.skip()
    return gr.skip() if state is None else state.layer_map[state.pick("distilbert", distil_layer, 0)[0]]


def select_head(side: str):
    def on_select(key, event: gr.SelectData, request: gr.Request = None):
        try:
            state = _kept(key, request)
        except LookupError:  # the redraw says so
            return gr.skip(), gr.skip()
        maps = None if state is None else state.sides()[side]
        cell = None if maps is None else figures.cell_at(*event.index, maps.layers, maps.heads)
        return (gr.skip(), gr.skip()) if cell is None else cell

    return on_select


def relink(key, layer_map: str, request: gr.Request = None):
    try:
        state = _kept(key, request)
        if state is None:
            return (gr.skip(),) * 4
        state = session.with_layer_map(state, layer_map)
    except (LookupError, InputError) as err:
        return (error_markdown(str(err)), gr.skip(), gr.skip(), gr.skip())
    KEPT.replace(session_of(request), key, state, again="Show attention")
    div = None if state.divergence is None else figures.divergence_figure(state.divergence, state.layer_map)
    return (
        notices(state.notices),
        figures.summaries_figure(state.summaries, state.layer_map),
        div,
        table(session.best_matches(state)),
    )


def attention_handlers(store: ModelStore):
    """Handlers of the Attention tab. Only `attention` runs the models; the rest redraw from the
    extraction kept in the server (kept.py), whose key the page holds."""

    @on_gpu("attention", 20)  # both models' eager pass, once
    @guarded("extracting attention")
    def extract(task, text, layer_map, student_folder):
        """The model work (any process): the kept state, the page's outputs, and the CSV's bytes."""
        state = session.compact(session.analyse(visitor_pair(store, task, student_folder), text, layer_map))
        pick_d = (0, 0)
        pick_b = (state.layer_map[0], 0)
        fig_b, fig_d = figures.head_figures(state, *pick_b, *pick_d)
        view_b, view_d = figures.model_views(state, pick_b, pick_d)
        return (
            state,
            notices(state.notices),
            views.alignment_markdown(state, pick_d[0], pick_b[0]),
            fig_b,
            fig_d,
            view_b,
            view_d,
            figures.summaries_figure(state.summaries, state.layer_map),
            session.summaries_csv(state),
            None if state.divergence is None else figures.divergence_figure(state.divergence, state.layer_map),
            table(session.best_matches(state)),
            session.to_json(state),
        )

    @guarded("extracting attention")
    def attention(
        task: str, text: str, layer_map: str | None = None, student: str | None = None, request: gr.Request = None
    ):
        """Extract both models' attention on one text: per-layer statistics (entropy, attention to
        [CLS], [SEP], itself, the previous and next token, mean distance), and for each DistilBERT head
        the BERT head it is closest to (Jensen-Shannon divergence). Bad input raises an error.

        Args:
            task: which pair: "fill-mask", "sentiment" or "qa" (any text; no [MASK] needed).
            text: the text to look at (at most 512 tokens are used).
            layer_map: the BERT layer each DistilBERT layer is aligned with, e.g. "0,2,4,7,9,11";
                empty: the DistilBERT paper's initialisation.
            student: a distilled student's handle (the page sets it); leave empty.

        Returns:
            a key to the page's state, notice, alignment text, both selected heads, both model views, the
            summaries chart, what the view costs the server, a CSV of the summaries, the head-similarity
            map, the best-match table, and the result as JSON: per model tokens, layers, heads,
            layer_map and summaries, plus best_matches.
        """
        state, *shown, csv, divergence, best, raw = extract(task, text, layer_map, student_folder(student))
        visitor = session_of(request)
        csv_path = STORAGE.download(visitor, "attention_summaries.csv", csv)
        note = f"<small>{kept.describe(kept.size_of(state), KEPT.budget)}</small>"
        key = KEPT.put(visitor, state)
        release_memory()  # the extraction's float32 maps are freed: hand their pages back to the system
        return (key, *shown, note, str(csv_path), divergence, best, raw)

    return attention, redraw, follow_layer, select_head, relink


def attention_tab(store: ModelStore, student_state: gr.State) -> tuple[gr.Radio, gr.Textbox]:
    """Lay the tab out and wire it; returns (task, text) for links that fill an example."""
    bert_config, distil_config = store.config("fill-mask", "bert"), store.config("fill-mask", "distilbert")
    teacher_layers, student_layers = bert_config.num_hidden_layers, distil_config.n_layers
    heads = bert_config.num_attention_heads
    analyse, redraw, follow_layer, select_head, relink = attention_handlers(store)

    state = gr.State(None, time_to_live=SESSION_TTL_S)  # a key to this visitor's extraction (kept.py)
    with gr.Row():
        task = gr.Radio(list(registry.TASKS), value="fill-mask", label="Model pair", scale=1)
        picker = example_picker("fill-mask", resources.examples()["fill-mask"][0], elem_id="attention-example")
        layer_map = gr.Textbox(
            label="Layer map (BERT layer for each DistilBERT layer)",
            placeholder=", ".join(map(str, default_layer_map(teacher_layers, student_layers))),
            info="Empty: the DistilBERT paper's initialisation. Press Enter to re-align without re-running.",
            scale=2,
            elem_id="layer-map",
            elem_classes=PRESENTER_HIDE,
        )
    with gr.Row(equal_height=True):
        text = gr.Textbox(
            label="Text", value=resources.examples()["fill-mask"][0], lines=2, elem_id="attention-text", scale=5
        )
        run = gr.Button("Show attention", variant="primary", elem_id="attention-run", scale=1)
    wire_example_picker(picker, task, text, None)
    notice = gr.Markdown(label="Notice", elem_id="attention-notice")
    alignment = gr.Markdown(label="Alignment", elem_id="alignment", elem_classes="verdict")
    # The two heads first, their sliders under them: on a projector the maps must fit on the screen.
    with gr.Row(equal_height=False, elem_id="attention-maps"):
        bert_map = gr.Plot(label="BERT head", elem_id="bert-head-map")
        distil_map = gr.Plot(label="DistilBERT head", elem_id="distil-head-map")
    with gr.Row():  # in the maps' order: BERT on the left
        bert_layer = gr.Slider(0, teacher_layers - 1, value=0, step=1, label="BERT layer", elem_id="bert-layer")
        bert_head = gr.Slider(0, heads - 1, value=0, step=1, label="BERT head", elem_id="bert-head")
        distil_layer = gr.Slider(
            0, student_layers - 1, value=0, step=1, label="DistilBERT layer", elem_id="distil-layer"
        )
        distil_head = gr.Slider(0, heads - 1, value=0, step=1, label="DistilBERT head", elem_id="distil-head")
    with gr.Row(elem_classes=PRESENTER_HIDE):
        hide_special = gr.Checkbox(label="Hide [CLS] / [SEP]", value=False)
        threshold = gr.Slider(0, 1, value=0, step=0.05, label="Hide weights below")
    gr.Markdown(
        "**Model view**: every layer (rows) × head (columns); click a head to select it.", elem_classes=PRESENTER_HIDE
    )
    # The images carry their own title, numbers and colour bar: a floating label or buttons would cover them.
    with gr.Row(equal_height=False):
        bert_view, distil_view = (
            gr.Image(
                label=f"{name}: all heads",
                show_label=False,
                buttons=[],
                interactive=False,
                elem_id=f"{prefix}-model-view",
                format="png",
            )
            for name, prefix in (("BERT", "bert"), ("DistilBERT", "distil"))
        )
    summaries = gr.Plot(label="Per-layer summaries", elem_id="attention-summaries")
    kept_note = gr.Markdown(
        label="What this view keeps on the server", elem_id="attention-kept", elem_classes=PRESENTER_HIDE
    )
    csv_file = gr.File(label="Summaries (CSV)", elem_id="attention-csv")
    divergence = gr.Plot(label="Head similarity", elem_id="head-divergence")
    best = gr.Dataframe(label="Best BERT match of each DistilBERT head", elem_id="best-matches", max_height=300)
    with gr.Accordion("Raw result (JSON)", open=False, elem_classes=PRESENTER_HIDE):
        raw = gr.JSON(label="Attention result")

    sliders = [bert_layer, bert_head, distil_layer, distil_head, hide_special, threshold]
    drawn = [bert_map, distil_map, bert_view, distil_view, alignment]
    analysed = [state, notice, alignment, bert_map, distil_map, bert_view, distil_view, summaries, kept_note, csv_file]
    run.click(
        analyse,
        validator=validator(INPUTS, input_check(store), blame="text"),
        inputs=[task, text, layer_map, student_state],
        outputs=[*analysed, divergence, best, raw],
        api_name="attention",
        concurrency_limit=1,
        concurrency_id=MODEL_QUEUE,
    ).then(lambda: (0, 0), outputs=[distil_layer, distil_head], show_progress="hidden", api_visibility="private")
    # A redraw keeps the figures on screen until the new ones arrive (Gradio's default covers every
    # output with an opaque spinner): only the alignment text shows a small timer meanwhile.
    quiet = {"show_progress": "hidden", "api_visibility": "private"}
    for control in sliders:
        control.change(
            redraw,
            inputs=[state, *sliders],
            outputs=drawn,
            trigger_mode="always_last",
            show_progress="minimal",
            show_progress_on=alignment,
            api_visibility="private",
        )
    distil_layer.change(follow_layer, inputs=[state, distil_layer], outputs=bert_layer, **quiet)
    distil_head.change(lambda head: head, inputs=distil_head, outputs=bert_head, **quiet)
    bert_view.select(select_head("bert"), inputs=state, outputs=[bert_layer, bert_head], **quiet)
    distil_view.select(select_head("distilbert"), inputs=state, outputs=[distil_layer, distil_head], **quiet)
    layer_map.submit(
        relink,
        inputs=[state, layer_map],
        outputs=[notice, summaries, divergence, best],
        api_visibility="private",
    )
    return task, text
