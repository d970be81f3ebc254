"""The Benchmark tab: layout and wiring only (the sweep is bench/core.py, its charts bench/figures.py)."""

from __future__ import annotations

import contextlib

import gradio as gr
import pandas as pd

from .. import registry
from ..gpu import on_gpu
from ..loading import ModelStore
from ..markup import esc
from ..measure import MEMORY_METHOD
from ..storage import STORAGE
from ..tabs import (
    HEAVY_QUEUE,
    PRESENTER_HIDE,
    PRESENTER_LAST,
    PRESENTER_LATER,
    StopFlags,
    controls,
    guarded,
    run_and_stop,
    settings_from,
    validator,
)
from . import core, figures

ACTIVE_SWEEPS = StopFlags()
FIELDS = ["task", "seq_lens", "batch_sizes", "precision", "repeats", "baseline"]  # the API's order


def _figures(rows: list[core.BenchRow], expected: dict[int, float]):
    batch = min((r.batch_size for r in rows), default=1)
    longest = max((r.seq_len for r in rows), default=128)
    seq_for_throughput = 128 if any(r.seq_len == 128 for r in rows) else longest
    return (
        figures.latency_figure(rows, batch),
        figures.speedup_figure(rows, expected),
        figures.memory_figure(rows, batch),
        figures.throughput_figure(rows, seq_for_throughput),
    )


def _table(rows: list[core.BenchRow]) -> pd.DataFrame:
    frame = pd.DataFrame([r.to_dict() for r in rows])
    return frame.round({"median_ms": 2, "p10_ms": 2, "p90_ms": 2, "peak_memory_mb": 3, "sequences_per_s": 2})


def input_check(store: ModelStore):
    """What can be refused before anything is measured (next to the control at fault on the page)."""

    def check(**values) -> None:
        settings = settings_from(core.BenchSettings, values)
        registry.check_task(settings.task)
        core.check_settings(settings.seq_lens, settings.batch_sizes, settings.precision, settings.repeats, store.device)

    return check


def gpu_seconds(settings: core.BenchSettings, *rest, **kwargs) -> float:
    """A sweep's ask of ZeroGPU, from its own settings: a little per point and timed run."""
    points = max(1, len(settings.seq_lens)) * max(1, len(settings.batch_sizes))
    runs_per_point = (settings.repeats + 2) * (4 if settings.baseline else 2)  # warm-up, both models, pipelines
    return 15 + points * (2 + 0.03 * runs_per_point)


def bench_handlers(store: ModelStore):
    @on_gpu("bench", gpu_seconds)
    @guarded("measuring")
    def sweep(settings: core.BenchSettings, stop, progress=None):
        """The model work (any process): yields (page update, the table to offer as a CSV at the end)."""
        rows: list[core.BenchRow] = []
        pair = store.pair(registry.check_task(settings.task))
        expected = core.flops_ratios(pair, settings.seq_lens)
        for item in core.run(pair, settings, stop):
            if isinstance(item, core.Progress):
                if progress is not None:
                    progress((item.done, item.total), desc=f"measuring {item.label}", unit="points")
                if rows:  # redraw once per finished point
                    yield ("", *_figures(rows, expected), _table(rows), None, gr.skip()), None
            else:
                rows.append(item)
        if not rows:
            yield ("Stopped before the first point finished.", *[None] * 6, {"error": "stopped"}), None
            return
        result = core.result_dict(settings, rows, str(store.device), expected, stopped=stop.is_set())
        note = " (stopped early)" if stop.is_set() else ""
        message = (
            f"### {esc(result['reading'])}{note}\n\n<small>{settings.precision}, on "
            f"{esc(result['measured_on'])}; each point: {core.WARMUP} warm-up runs, then {settings.repeats} timed runs "
            "per model, the models interleaved run by run; memory: "
            f"{MEMORY_METHOD['cuda' if store.device.type == 'cuda' else 'cpu']}.</small>"
        )
        yield (message, *_figures(rows, expected), _table(rows), None, result), _table(rows)

    @guarded("measuring")
    def bench(request: gr.Request = None, progress=gr.Progress(), **values):  # noqa: B008 - Gradio injects these
        """Time both models of a pair over sequence lengths and batch sizes, in one precision: latency
        (median, p10, p90 of interleaved runs), the speed-up with its 95% interval (flagged when the whole
        interval lies past the arithmetic bound: the FLOPs ratio at that length plus the implementations'
        overheads), peak extra memory and throughput, streamed point by point. Bad settings raise.

        Args:
            task: which pair: "fill-mask", "sentiment" or "qa".
            seq_lens: sequence lengths in tokens (3-512), e.g. [16, 64, 128].
            batch_sizes: batch sizes (1-64), e.g. [1, 8].
            precision: "fp32", "int8" (CPU only) or "bf16".
            repeats: timed runs per model and point (1-100).
            baseline: also time transformers.pipeline (fill-mask, fp32).

        Returns:
            a one-line reading, the latency, speed-up, memory and throughput charts, a table of every
            point, its CSV, and the result as JSON (rows, speedup per point with ci95, expected (the FLOPs
            ratio), bound and past_bound, reading, measured_on).
        """
        settings = settings_from(core.BenchSettings, values)
        session, stop = ACTIVE_SWEEPS.start(request)
        try:
            with contextlib.closing(sweep(settings, stop, progress)) as updates:
                for update, table in updates:
                    if table is not None:  # the last one: its CSV, registered here
                        csv = STORAGE.download(session, "benchmark.csv", table.to_csv(index=False).encode())
                        update = (*update[:6], str(csv), *update[7:])
                    yield update
        finally:
            ACTIVE_SWEEPS.finish(session)

    def stop(request: gr.Request):
        if not ACTIVE_SWEEPS.stop(request):
            return "No sweep of yours is running."
        return "Stopping after the current point…"

    return bench, stop


def bench_tab(store: ModelStore) -> None:
    run, stop = bench_handlers(store)
    available = tuple(p for p in core.PRECISIONS if core.precision_supported(p, store.device)[0])
    gr.Markdown(
        "How the speed-up and the memory saving change with sequence length, batch size and precision. "
        f"The paper's headline, {core.PAPER_CPU_SPEEDUP}x on CPU at batch 1, is one point of this surface.",
        elem_classes=PRESENTER_HIDE,
    )
    # On stage the settings (two rows: the charts would start below 720 px) move under the reading
    # and the two main charts (page.css, .presenter-later): they are set before the talk.
    with gr.Row(elem_classes=PRESENTER_LATER):  # only the precisions this device runs
        made = controls(core.BenchSettings, ["task", "precision", "repeats"], "bench", choices={"precision": available})
    with gr.Row(elem_classes=PRESENTER_LATER):
        made |= controls(core.BenchSettings, ["seq_lens", "batch_sizes", "baseline"], "bench")
    start_button, stop_button = run_and_stop("Run sweep", "bench-run", "bench-stop")
    message = gr.Markdown(label="Reading", elem_id="bench-message")
    with gr.Row(equal_height=False):
        latency = gr.Plot(label="Latency", elem_id="bench-latency")
        speedup = gr.Plot(label="Speed-up", elem_id="bench-speedup")
    with gr.Row(equal_height=False, elem_classes=PRESENTER_LAST):
        memory = gr.Plot(label="Memory", elem_id="bench-memory")
        throughput = gr.Plot(label="Throughput", elem_id="bench-throughput")
    table = gr.Dataframe(label="Every point", elem_id="bench-table", max_height=360, elem_classes=PRESENTER_LAST)
    csv_file = gr.File(label="All points (CSV)", elem_id="bench-csv", elem_classes=PRESENTER_LAST)
    with gr.Accordion("Raw result (JSON)", open=False, elem_classes=PRESENTER_HIDE):
        raw = gr.JSON(label="Sweep result")

    sweep = start_button.click(
        run,
        inputs_kwargs={name: made[name] for name in FIELDS},
        validator=validator(FIELDS, input_check(store), blame="seq_lens", heavy=True),
        outputs=[message, latency, speedup, memory, throughput, table, csv_file, raw],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="bench",
    )
    # Gradio cancels the sweep's event; the flag ends it between two points.
    stop_button.click(stop, outputs=message, cancels=[sweep], queue=False, api_visibility="private")
