"""The Benchmark tab: layout and wiring only (the sweep itself is bench.py)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd
import torch

from . import bench, bench_plots, measure, registry, views
from .inputs import InputError
from .loading import ModelStore
from .ui_jobs import HEAVY_QUEUE, StopFlags

log = logging.getLogger(__name__)

BATCH_CHOICES = [1, 2, 4, 8, 16, 32]
ACTIVE_SWEEPS = StopFlags()


def _figures(rows: list[bench.BenchRow]):
    batch = min((r.batch_size for r in rows), default=1)
    longest = max((r.seq_len for r in rows), default=128)
    seq_for_throughput = 128 if any(r.seq_len == 128 for r in rows) else longest
    return (
        bench_plots.latency_figure(rows, batch),
        bench_plots.speedup_figure(rows),
        bench_plots.memory_figure(rows, batch),
        bench_plots.throughput_figure(rows, seq_for_throughput),
    )


def _table(rows: list[bench.BenchRow]) -> pd.DataFrame:
    frame = pd.DataFrame([r.to_dict() for r in rows])
    return frame.round({"median_ms": 2, "p10_ms": 2, "p90_ms": 2, "peak_memory_mb": 3, "sequences_per_s": 2})


def bench_handlers(store: ModelStore):
    def run(task, seq_lens, batch_sizes, precision, repeats, baseline, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Yields (message, latency, speed-up, memory, throughput figures, table, CSV file, JSON)."""
        rows: list[bench.BenchRow] = []
        session, stop = ACTIVE_SWEEPS.start(request)
        try:
            if task not in registry.TASKS:
                raise InputError(f"Unknown task; choose one of: {', '.join(registry.TASKS)}.")
            sweep = bench.sweep(
                store.pair(task),
                [int(t) for t in seq_lens or []],
                [int(b) for b in batch_sizes or []],
                precision,
                repeats=int(repeats),
                baseline=bool(baseline),
                stop=stop,
            )
            for item in sweep:
                if isinstance(item, bench.Progress):
                    progress((item.done, item.total), desc=f"measuring {item.label}", unit="points")
                    if rows:  # redraw once per finished point
                        yield ("", *_figures(rows), _table(rows), None, gr.skip())
                else:
                    rows.append(item)
        except InputError as err:
            yield (views.notices([str(err)], error=True), *[None] * 6, {"error": str(err)})
            return
        finally:
            ACTIVE_SWEEPS.finish(session)
        if not rows:
            yield ("Stopped before the first point finished.", *[None] * 6, {"error": "stopped"})
            return
        csv_path = Path(tempfile.mkdtemp(prefix="bench-")) / "benchmark.csv"
        _table(rows).to_csv(csv_path, index=False)
        result = {
            "task": task,
            "precision": precision,
            "threads": torch.get_num_threads(),
            "device": str(store.device),
            "rows": [r.to_dict() for r in rows],
            "speedup": bench.speedups(rows),
            "reading": bench.reading(rows),
            "stopped": stop.is_set(),
        }
        note = " (stopped early)" if stop.is_set() else ""
        message = (
            f"### {views.esc(bench.reading(rows))}{note}\n\n<small>{precision}, {result['threads']} threads on "
            f"{views.esc(result['device'])}; each point: 2 warm-up runs, then {int(repeats)} timed runs per model, "
            "the models interleaved run by run; memory: "
            f"{measure.MEMORY_METHOD['cuda' if store.device.type == 'cuda' else 'cpu']}.</small>"
        )
        yield (message, *_figures(rows), _table(rows), str(csv_path), result)

    def stop(request: gr.Request):
        if not ACTIVE_SWEEPS.stop(request):
            return "No sweep of yours is running."
        return "Stopping after the current point…"

    return run, stop


def bench_tab(store: ModelStore) -> None:
    run, stop = bench_handlers(store)
    device = store.device
    available = [p for p in bench.PRECISIONS if bench.precision_supported(p, device)[0]]
    gr.Markdown(
        "How the speed-up and the memory saving change with sequence length, batch size and precision. "
        f"The paper's headline, {bench.PAPER_CPU_SPEEDUP}x on CPU at batch 1, is one point of this surface."
    )
    with gr.Row():
        task = gr.Radio(list(registry.TASKS), value="fill-mask", label="Model pair", scale=1)
        precision = gr.Radio(available, value="fp32", label="Precision", scale=1, elem_id="bench-precision")
        repeats = gr.Slider(1, 50, value=10, step=1, label="Timed runs per model and point", scale=1)
    with gr.Row():
        seq_lens = gr.CheckboxGroup(
            list(bench.DEFAULT_SEQ_LENS), value=[16, 64, 128], label="Sequence lengths (tokens)", elem_id="bench-lens"
        )
        batch_sizes = gr.CheckboxGroup(BATCH_CHOICES, value=[1], label="Batch sizes", elem_id="bench-batches")
        baseline = gr.Checkbox(value=True, label="Also time transformers.pipeline (fill-mask, fp32)")
    with gr.Row():
        start_button = gr.Button("Run sweep", variant="primary", elem_id="bench-run")
        stop_button = gr.Button("Stop", variant="stop", elem_id="bench-stop")
    message = gr.Markdown(elem_id="bench-message")
    with gr.Row(equal_height=False):
        latency = gr.Plot(label="Latency", elem_id="bench-latency")
        speedup = gr.Plot(label="Speed-up", elem_id="bench-speedup")
    with gr.Row(equal_height=False):
        memory = gr.Plot(label="Memory", elem_id="bench-memory")
        throughput = gr.Plot(label="Throughput", elem_id="bench-throughput")
    table = gr.Dataframe(label="Every point", elem_id="bench-table", max_height=360)
    csv_file = gr.File(label="All points (CSV)", elem_id="bench-csv")
    with gr.Accordion("Raw result (JSON)", open=False):
        raw = gr.JSON(label="Sweep result")

    start_button.click(
        run,
        inputs=[task, seq_lens, batch_sizes, precision, repeats, baseline],
        outputs=[message, latency, speedup, memory, throughput, table, csv_file, raw],
        concurrency_limit=1,
        concurrency_id=HEAVY_QUEUE,
        api_name="bench",
    )
    stop_button.click(stop, outputs=message, queue=False, api_visibility="private")
