"""Command line: the same functions the web app calls.

    python -m distilbert_demo compare --task fill-mask --text "Paris is the [MASK] of France."
    python -m distilbert_demo attention --text "The cat sat on the mat." --json --npz maps.npz
    python -m distilbert_demo ladder --task sentiment --json
    python -m distilbert_demo prefetch
    python -m distilbert_demo doctor

Exit codes: 0 success, 1 a model could not be loaded or downloaded (doctor: a check failed), 2 bad
input or flags.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from . import flags, loading, measure, registry, settings, storage, variants
from .bench.core import BenchSettings
from .compare import core as compare
from .distill.recipe import DistillConfig
from .evaluate.core import EvaluateSettings
from .explain.core import ExplainSettings
from .inputs import InputError
from .labelled import load_labelled_file
from .ladder.core import LadderSettings
from .palette import TITLES
from .webpage import site as webpage_site

EXIT_OK, EXIT_LOAD, EXIT_INPUT = 0, 1, 2


class CliError(Exception):
    """A failure outside the two kinds main() maps itself (bad input, a model that cannot load)."""

    def __init__(self, message: str, code: int = EXIT_INPUT):
        super().__init__(message)
        self.code = code


def _write(path: str, write) -> None:
    """Call write(path); a file that cannot be written is an input error, said in one line."""
    try:
        write(path)
    except OSError as err:
        raise CliError(f"could not write {path}: {err.strerror or err}") from err


def _add_pair_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bert", metavar="ID_OR_PATH", help="teacher-side checkpoint (hub id or local folder)")
    parser.add_argument("--distilbert", metavar="ID_OR_PATH", help="student-side checkpoint (hub id or local folder)")
    parser.add_argument("--threads", type=int, help="torch threads (default: DISTILBERT_DEMO_THREADS or all cores)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distilbert-demo", description="BERT vs DistilBERT, side by side.")
    commands = parser.add_subparsers(dest="command", required=True)

    cmp = commands.add_parser("compare", help="run both models on one text and compare them")
    cmp.add_argument("--task", choices=list(registry.TASKS), default="fill-mask")
    cmp.add_argument("--text", help="the sentence (fill-mask, sentiment); for qa, the context")
    cmp.add_argument("--question", help="qa: the question")
    cmp.add_argument("--context", help="qa: the passage the answer is taken from (same as --text)")
    _add_pair_flags(cmp)
    cmp.add_argument(
        "--top-k", type=int, default=compare.DEFAULT_TOP_K, help=f"candidates per mask (1-{compare.MAX_TOP_K})"
    )
    cmp.add_argument(
        "--repeats",
        type=int,
        help=f"timed runs per model (1-{compare.MAX_REPEATS}; default: as many as fit in the timing budget)",
    )
    cmp.add_argument(
        "--budget",
        type=float,
        default=compare.DEFAULT_BUDGET_S,
        metavar="SECONDS",
        help=f"seconds of timing when --repeats is not given (default {compare.DEFAULT_BUDGET_S:g})",
    )
    for side in registry.SIDES:
        cmp.add_argument(
            f"--{side}-variant",
            default="fp32",
            metavar="V",
            help=f"how {TITLES[side]} runs: {', '.join(variants.VARIANTS)} (CPU)",
        )
    cmp.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    att = commands.add_parser("attention", help="extract both models' attention maps and per-layer summaries")
    att.add_argument("--text", required=True)
    att.add_argument("--task", choices=list(registry.TASKS), default="fill-mask", help="which pair to use")
    _add_pair_flags(att)
    att.add_argument("--layer-map", metavar="0,2,4,7,9,11", help="BERT layer for each DistilBERT layer")
    att.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    att.add_argument("--npz", metavar="FILE", help="save the raw attention arrays (bert, distilbert) to FILE")

    dist = commands.add_parser("distill", help="distil a DistilBERT-shaped student from a BERT teacher")
    dist.add_argument("--teacher", metavar="ID_OR_PATH", help="BERT masked-LM teacher (default: the fill-mask BERT)")
    dist.add_argument("--corpus", metavar="FILE", help="UTF-8 text, one sentence or paragraph per line (streamed)")
    dist.add_argument("--out", metavar="DIR", required=True, help="where the student and its tokenizer are saved")
    dist.add_argument("--student-layers", metavar="0,2,4,7,9,11", help="teacher layers the student starts from")
    dist.add_argument(
        "--race",
        action="store_true",
        help="the myth race: a teacher-initialised and a random-initialised student stepping in turns on the same "
        "batches, one budget for both, equal steps (--out gets the teacher-initialised one)",
    )
    settings.add_flags(dist, DistillConfig)
    dist.add_argument("--threads", type=int, help="torch threads (default: DISTILBERT_DEMO_THREADS or all cores)")
    dist.add_argument("--json", action="store_true", help="print one JSON object at the end")

    sweep = commands.add_parser("bench", help="latency and memory of both models over lengths, batches, precision")
    settings.add_flags(sweep, BenchSettings)
    _add_pair_flags(sweep)
    sweep.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    sweep.add_argument("--csv", metavar="FILE", help="also write every row to FILE")

    ev = commands.add_parser("evaluate", help="accuracy of both sentiment models on a labelled set")
    ev.add_argument("--data", metavar="FILE", help="CSV with columns text,label (default: the shipped set)")
    _add_pair_flags(ev)
    settings.add_flags(ev, EvaluateSettings)
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    exp = commands.add_parser("explain", help="token saliency of both models' predictions on one text (Captum)")
    exp.add_argument("--task", choices=list(registry.TASKS), default="sentiment")
    exp.add_argument("--text", help="the sentence; for qa, the context")
    exp.add_argument("--question", help="qa: the question")
    settings.add_flags(exp, ExplainSettings)
    _add_pair_flags(exp)
    exp.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    lad = commands.add_parser("ladder", help="both models in every precision and runtime, with the accuracy each keeps")
    settings.add_flags(lad, LadderSettings)
    lad.add_argument("--data", metavar="FILE", help="sentiment: CSV with columns text,label (default: the shipped set)")
    lad.add_argument(
        "--variants",
        nargs="+",
        metavar="V",
        help="fp32 bf16 bf16-compiled int8 onnx-fp32 onnx-int8 (default: all; fp32 always runs, it is the reference)",
    )
    lad.add_argument("--cache", metavar="DIR", help="keep the ONNX exports here (default: a temp folder)")
    _add_pair_flags(lad)
    lad.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    doc = commands.add_parser(
        "doctor", help="check the default checkpoints (hub or cache) against transformers.pipeline and their cards"
    )
    doc.add_argument("--threads", type=int, help="torch threads (default: DISTILBERT_DEMO_THREADS or all cores)")
    doc.add_argument("--json", action="store_true", help="print one JSON object instead of a report")

    exp_web = commands.add_parser(
        "export-web", help="write a checkpoint in the layout transformers.js loads (the static page's models)"
    )
    exp_web.add_argument("checkpoint", metavar="CHECKPOINT", help="hub id or local folder")
    exp_web.add_argument("out", metavar="OUT", help="folder to write (config, tokenizer, onnx/model*.onnx)")
    exp_web.add_argument("--json", action="store_true", help="print one JSON object (the files and their sizes)")

    web = commands.add_parser(
        "web", help="serve the static page on localhost with these checkpoints (a talk without a network)"
    )
    flags.add_checkpoint_flags(web)
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000, help="0: any free port")
    web.add_argument(
        "--models", metavar="DIR", help="keep the exported models here, reused next time (default: a temp folder)"
    )

    space = commands.add_parser("web-space", help="write the Static Space's files (the page, site.json) into a folder")
    space.add_argument("out", metavar="OUT", help="folder to write; push it to a Static Space (README)")
    for task in registry.TASKS:
        for side in registry.SIDES:
            default = webpage_site.HUB_COPIES[(task, side)]
            space.add_argument(
                f"--{task}-{side}",
                metavar="REPO",
                help=f"{task} {side}: a hub repository in transformers.js' layout (default {default or 'none'})",
            )

    fetch = commands.add_parser("prefetch", help="download the configured checkpoints into the Hugging Face cache")
    fetch.add_argument("--bert", metavar="ID", help="also fetch this BERT-side checkpoint for every task")
    fetch.add_argument("--distilbert", metavar="ID", help="also fetch this DistilBERT-side checkpoint for every task")
    return parser


def load_pair(task: str, bert: str | None, distilbert: str | None) -> loading.Pair:
    """Load both sides; a side the user named explicitly must load (no silent twin)."""
    overrides = {"bert": bert, "distilbert": distilbert}
    sides = {side: loading.load_model(task, side, o, allow_twin=o is None) for side, o in overrides.items()}
    pair = loading.Pair(task, **sides)
    for model in pair.sides():
        if model.source == "twin":
            print(
                f"warning: {model.note}; using an UNTRAINED twin of {model.name}: "
                "latency and memory are real, predictions are random.",
                file=sys.stderr,
            )
    if pair.uses_twins:
        print(f"warning: {loading.HOW_TO_GET_REAL_WEIGHTS}", file=sys.stderr)
    return pair


def format_table(result: compare.Comparison) -> str:
    data = result.to_dict()
    bert, distil = data["models"]["bert"], data["models"]["distilbert"]
    rows = [
        ("", "BERT", "DistilBERT"),
        ("checkpoint", f"{bert['name']} ({bert['source']})", f"{distil['name']} ({distil['source']})"),
        ("parameters", f"{bert['params']:,}", f"{distil['params']:,}"),
        ("layers", str(bert["layers"]), str(distil["layers"])),
        ("weights", f"{bert['weights_mb']:.1f} MiB", f"{distil['weights_mb']:.1f} MiB"),
        ("latency median", f"{bert['latency_ms']['median']:.1f} ms", f"{distil['latency_ms']['median']:.1f} ms"),
        ("latency p90", f"{bert['latency_ms']['p90']:.1f} ms", f"{distil['latency_ms']['p90']:.1f} ms"),
        (
            "peak extra memory",
            *(("n/a" if m["peak_memory_mb"] is None else f"{m['peak_memory_mb']:.1f} MiB") for m in (bert, distil)),
        ),
    ]
    if result.task == "fill-mask":
        for i, (mask_b, mask_d) in enumerate(zip(bert["predictions"], distil["predictions"]), start=1):
            for rank, (cb, cd) in enumerate(zip(mask_b, mask_d), start=1):
                label = f"mask {i} #{rank}" if len(bert["predictions"]) > 1 else f"#{rank}"
                rows.append((label, f"{cb['token']} {cb['score']:.4f}", f"{cd['token']} {cd['score']:.4f}"))
    elif result.task == "qa":
        for rank, (ab, ad) in enumerate(zip(bert["predictions"], distil["predictions"]), start=1):
            rows.append((f"answer #{rank}", f"{ab['text']!r} {ab['score']:.4f}", f"{ad['text']!r} {ad['score']:.4f}"))
    else:
        for pb, pd in zip(bert["predictions"], distil["predictions"]):
            rows.append(("", f"{pb['label']} {pb['score']:.4f}", f"{pd['label']} {pd['score']:.4f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{result.task}: {result.text}", ""]
    if result.question is not None:
        lines.insert(0, f"question: {result.question}")
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    agree = data["agreement"]
    js = "n/a (different vocabularies)" if agree["js_divergence"] is None else f"{agree['js_divergence']:.4f} bits"
    lines += [
        "",
        f"agreement: top-1 match {'yes' if agree['top1_match'] else 'no'}, "
        f"top-k overlap {agree['topk_overlap']:.2f}, Jensen-Shannon divergence {js}",
        f"speed-up {result.speedup_interval.text()}, size ratio {data['size_ratio']:.2f}",
        f"verdict: {data['verdict']}",
        *(f"caveat: {c}" for c in data["caveats"]),
        f"method: {bert['latency_ms']['runs']} timed runs per model after {bert['latency_ms']['warmup']} warm-up, "
        f"interleaved; on {data['measured_on']}; other processes used "
        f"{data['outside_load']:.0%} of the CPUs; memory: {data['memory_method']}",
    ]
    lines += [f"note: {notice}" for notice in data["notices"]]
    return "\n".join(lines)


def run_compare(args: argparse.Namespace) -> int:
    from . import inputs, qa

    measure.configure_threads(args.threads)
    text = args.context if args.task == "qa" and args.context is not None else args.text
    compare.check_settings(args.top_k, args.repeats, args.budget)
    if args.task == "qa":  # fail fast, before loading
        question, text = qa.check_qa(args.question, text)
    else:
        text, question = inputs.check_text(text, args.task), None
    chosen = {"bert": args.bert_variant, "distilbert": args.distilbert_variant}
    for side, name in chosen.items():
        variants.check_choice(args.task, side, name)
    pair = load_pair(args.task, args.bert, args.distilbert)
    with tempfile.TemporaryDirectory(prefix="distilbert-demo-onnx-") as cache:
        pair = loading.Pair(args.task, *(variants.as_variant(m, chosen[m.side], Path(cache)) for m in pair.sides()))
        result = compare.compare_pair(
            pair, text, top_k=args.top_k, repeats=args.repeats, question=question, budget_s=args.budget
        )
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    print(json.dumps(result.to_dict()) if args.json else format_table(result))
    return EXIT_OK


def run_attention(args: argparse.Namespace) -> int:
    import numpy as np

    from . import inputs
    from .attention import session as attention

    measure.configure_threads(args.threads)
    inputs.check_text(args.text, args.task, require_mask=False)  # fail fast, before loading
    pair = load_pair(args.task, args.bert, args.distilbert)
    state = attention.analyse(pair, args.text, args.layer_map)
    for notice in state.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.npz:
        arrays = {"bert": state.bert.attentions, "distilbert": state.distilbert.attentions}
        _write(args.npz, lambda path: np.savez_compressed(path, **arrays))
    if args.json:
        print(json.dumps(attention.to_json(state)))
        return EXIT_OK
    print(f"tokens ({len(state.bert.tokens)}): {' '.join(state.bert.tokens)}")
    print(f"layer map (DistilBERT -> BERT): {state.layer_map}")
    print(state.summaries.round(3).to_string(index=False))
    if args.npz:
        print(f"attention arrays saved to {args.npz}")
    return EXIT_OK


def run_distill(args: argparse.Namespace) -> int:
    from .distill import core

    measure.configure_threads(args.threads)
    config = settings.from_flags(DistillConfig, args)
    config.check()  # fail fast, before loading
    teacher = loading.load_model("fill-mask", "bert", args.teacher, allow_twin=args.teacher is None)
    if teacher.source == "twin":
        print(f"warning: {teacher.note}; distilling from an UNTRAINED twin teacher.", file=sys.stderr)
    # init -> its Distiller (one lane, or the race's two stepping in turns on the same batches)
    if args.race:
        contest = core.Race(teacher, config, args.student_layers, corpus_file=args.corpus, max_steps=None)
        lanes, runs = contest.lanes, contest.run()
    else:
        lanes = {
            "teacher": core.make_distiller(
                teacher, config, args.student_layers, corpus_file=args.corpus, max_steps=None
            )
        }
        runs = lanes["teacher"].run()
    for report in runs:
        for init, lane in lanes.items():
            if lane.accelerator.is_main_process and report.agreement is not None:
                a, loss = lane.result.evaluations[-1], lane.result.history[-1]["loss"]
                print(
                    f"{init} init: step {report.step}/{report.steps}  loss {loss:.4f}  "
                    f"agreement {a['top1']:.1%}  KL {a['kl']:.4f}  {report.steps_per_s:.2f} steps/s",
                    file=sys.stderr,
                )
    distiller = lanes["teacher"]
    main = distiller.accelerator.is_main_process
    try:
        distiller.save(args.out)
    except OSError as err:
        raise CliError(f"could not save to {args.out}: {err.strerror or err}") from err
    if not main:
        return EXIT_OK
    result = distiller.result
    summary = {
        "teacher": {"name": teacher.name, "source": teacher.source, "params": teacher.params, "layers": teacher.layers},
        "student": {
            "params": sum(p.numel() for p in result.student.parameters()),
            "layers": result.student.config.n_layers,
        },
        "student_layers": result.layers,
        "history": result.history,
        "evaluations": result.evaluations,
        "agreement_before": asdict(result.agreement_before),
        "agreement_after": asdict(result.agreement_after),
        "processes": distiller.accelerator.num_processes,
        "plan": {
            "steps": distiller.plan.steps,
            "budget_s": distiller.plan.budget_s,
            "step_s": round(distiller.plan.step_s, 4),
            "text": distiller.plan.text(),
        },
        "elapsed_s": round(result.elapsed_s, 3),
        "out": str(args.out),
    }
    if args.race:
        summary["race"] = {
            f"{init}_init": {
                "history": lane.result.history,
                "evaluations": lane.result.evaluations,
                "agreement_before": asdict(lane.result.agreement_before),
                "agreement_after": asdict(lane.result.agreement_after),
                "elapsed_s": round(lane.result.elapsed_s, 3),
            }
            for init, lane in lanes.items()
        }
    if args.json:
        print(json.dumps(summary))
    else:
        before, after = result.agreement_before, result.agreement_after
        print(
            f"student ({summary['student']['layers']} layers from teacher layers {result.layers}, "
            f"{summary['student']['params']:,} parameters) saved to {args.out}"
        )
        print(
            f"held-out top-1 agreement with the teacher: {before.top1:.1%} -> {after.top1:.1%}; "
            f"KL {before.kl:.4f} -> {after.kl:.4f}"
        )
        if args.race:
            print(f"race: {core.race_summary(contest.results, teacher.source == 'twin')}")
    return EXIT_OK


def print_sweep(rows: list, result: dict) -> None:
    """The sweep as a table, the speed-ups and the reading."""
    print(
        f"{'model':<22} {'tokens':>6} {'batch':>5} {'median ms':>10} {'p10':>8} {'p90':>8} {'peak MiB':>9} {'seq/s':>8}"
    )
    for row in rows:
        print(
            f"{row.model:<22} {row.seq_len:>6} {row.batch_size:>5} {row.median_ms:>10.1f} {row.p10_ms:>8.1f} "
            f"{row.p90_ms:>8.1f} {row.peak_memory_mb:>9.2f} {row.sequences_per_s:>8.1f}"
        )
    print(
        "speed-up (BERT / DistilBERT median): "
        + ", ".join(
            f"{s['seq_len']}x{s['batch_size']}: {s['speedup']:.2f}x" + (" ⚠" if s["past_bound"] else "")
            for s in result["speedup"]
        )
    )
    print(f"{result['reading']} ({result['precision']}, on {result['measured_on']})")


def run_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .bench import core as bench

    measure.configure_threads(args.threads)
    config = settings.from_flags(BenchSettings, args)
    pair = load_pair(config.task, args.bert, args.distilbert)
    rows: list = []
    with tqdm(total=len(config.seq_lens) * len(config.batch_sizes), desc="bench", unit="point", file=sys.stderr) as bar:
        for item in bench.run(pair, config):
            if isinstance(item, bench.Progress):
                bar.n = item.done  # points finished so far
                bar.set_postfix_str(item.label)
            else:
                rows.append(item)
        bar.n = bar.total
        bar.refresh()
    result = bench.result_dict(config, rows, str(pair.bert.device), bench.flops_ratios(pair, config.seq_lens))
    if args.csv:
        import pandas as pd

        _write(args.csv, lambda path: pd.DataFrame(result["rows"]).to_csv(path, index=False))
    if args.json:
        print(json.dumps(result))
    else:
        print_sweep(rows, result)
    return EXIT_OK


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import core as evaluate

    measure.configure_threads(args.threads)
    data = load_labelled_file(args.data)
    pair = load_pair("sentiment", args.bert, args.distilbert)
    result = evaluate.evaluate(pair, data, batch_size=args.batch_size)
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    print(f"{data.name}: {len(data)} examples")
    for side, model in (("bert", result.bert), ("distilbert", result.distilbert)):
        low, high = model.ci95
        print(
            f"{TITLES[side]:<11} accuracy {model.accuracy:.1%} (95% CI {low:.1%}-{high:.1%}), "
            f"{model.examples_per_second:.1f} examples/s, confusion {model.confusion()}"
        )
    print(f"retention {result.retention:.1%}, agreement {result.agreement:.1%}")
    print(f"verdict: {result.verdict()}")
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    from .explain import core as explain

    measure.configure_threads(args.threads)
    explain.check_settings(args.method, args.steps)
    if args.text is None:
        raise CliError("--text is required")
    pair = load_pair(args.task, args.bert, args.distilbert)
    result = explain.explain(pair, args.text, args.method, args.steps, args.question)
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    for row in result.rows:
        part = f" ({row.part})" if row.part else ""
        check = (
            ""
            if row.delta is None
            else f", delta {row.delta:+.4g} (sum {sum(row.attributions):+.4g} of "
            f"{row.output - row.baseline_output:+.4g})"
        )
        print(f"{TITLES[row.side]}{part} -> {row.target} ({row.probability:.1%}), {row.method}{check}")
        for token, value in zip(row.tokens, row.attributions):
            print(f"  {token:<16} {value:+.5f}")
    return EXIT_OK


def run_ladder(args: argparse.Namespace) -> int:
    from .ladder import core as ladder
    from .ladder.views import table

    measure.configure_threads(args.threads)
    chosen = args.variants or list(variants.VARIANTS)
    config = settings.from_flags(LadderSettings, args)
    ladder.check_settings(config.task, config.seq_len, config.budget_s, ["fp32", *chosen])
    data = load_labelled_file(args.data) if args.task == "sentiment" else None
    pair = load_pair(args.task, args.bert, args.distilbert)
    with tempfile.TemporaryDirectory(prefix="distilbert-demo-onnx-") as tmp:
        cache = Path(args.cache) if args.cache else Path(tmp)
        say = None if args.json else (lambda what: print(what, file=sys.stderr))
        result = ladder.ladder(pair, cache, chosen, config.seq_len, data, config.budget_s, progress=say)
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    frame = table(result).drop(columns=["Note"])
    print(frame.to_string(index=False))
    for row in result.rows:
        if row.note:
            print(f"{row.label}: {row.note}")
    print(
        f"accuracy on {result.scored_on} ({result.examples} examples); timed on {result.measured_on}, "
        f"{result.seq_len} tokens, batch 1"
    )
    for note in result.notes:
        print(f"note: {note}")
    print(f"verdict: {result.headline()}")
    for caveat in result.caveats():
        print(f"caveat: {caveat}")
    return EXIT_OK


def run_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when every check that ran passed, 1 when one failed (the report says which)."""
    from . import doctor

    measure.configure_threads(args.threads)
    report = doctor.run(progress=lambda message: print(message, file=sys.stderr))
    print(json.dumps(report.to_dict()) if args.json else report.text())
    return report.exit_code


def run_prefetch(args: argparse.Namespace) -> int:
    from . import prefetch

    overrides = {}
    for task in registry.TASKS:
        if args.bert:
            overrides[(task, "bert")] = args.bert
        if args.distilbert:
            overrides[(task, "distilbert")] = args.distilbert
    if loading.hub_offline():
        raise CliError("prefetch needs the Hugging Face hub, but HF_HUB_OFFLINE is set; unset it and retry.", EXIT_LOAD)
    for repo_id in prefetch.checkpoints_to_fetch(overrides):
        print(f"fetching {repo_id} ...", file=sys.stderr)
        try:
            folder = prefetch.fetch(repo_id)
        except Exception as err:  # noqa: BLE001 - one line, not a traceback
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise CliError(f"could not download {repo_id}: {first_line}", EXIT_LOAD) from err
        print(f"{repo_id} -> {folder}")
    return EXIT_OK


def _side_of(loaded_config) -> str:
    return "distilbert" if loaded_config.model_type == "distilbert" else "bert"


def run_export_web(args: argparse.Namespace) -> int:
    from transformers import AutoConfig

    from .webpage import export

    task = loading.task_of(args.checkpoint)
    try:
        config = AutoConfig.from_pretrained(args.checkpoint, local_files_only=loading.hub_offline())
    except (OSError, ValueError) as err:
        raise loading.LoadError(f"could not read the config of {args.checkpoint}: {err}") from err
    loaded = loading.load_model(task, _side_of(config), args.checkpoint, allow_twin=False)
    print(f"exporting {loaded.name} ({task}) to {args.out} ...", file=sys.stderr)
    try:
        result = export.export_web(loaded, Path(args.out))
    except OSError as err:
        raise CliError(f"could not write {args.out}: {err.strerror or err}") from err
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        for name, size in result.files.items():
            print(f"{size:>12,}  {Path(args.out) / name}")
    return EXIT_OK


def _exported(loaded: loading.LoadedModel, folder: Path) -> None:
    """Export `loaded` into `folder` unless the same checkpoint is already there, complete."""
    from .webpage import export

    if not export.holds(folder, loaded):
        print(f"exporting {loaded.name} for the page ...", file=sys.stderr)
        export.export_web(loaded, folder)


def run_web(args: argparse.Namespace) -> int:
    from .webpage import export, serve

    try:
        serve.check_vendor()  # before minutes of exporting
    except serve.SetupError as err:
        raise CliError(str(err), EXIT_LOAD) from err
    overrides = flags.checkpoint_overrides(build_parser(), args)
    keep = args.models is not None
    models = Path(args.models).expanduser() if keep else Path(tempfile.mkdtemp(prefix="distilbert-demo-web-"))
    try:
        loaded = {}
        for task in registry.TASKS:
            pair = load_pair(task, overrides.get((task, "bert")), overrides.get((task, "distilbert")))
            for model in pair.sides():
                loaded[(task, model.side)] = model
                _exported(model, models / export.folder_name(task, model.side))
                model.model = None  # the page runs the exported copy; free this one's memory
        config = webpage_site.site_config(webpage_site.local_models(loaded), local=True)
        try:
            server = serve.make_server(models, config, args.host, args.port)
        except OSError as err:
            raise CliError(f"could not listen on {args.host}:{args.port}: {err.strerror or err}") from err
        host, port = server.server_address[:2]
        print(f"the page: http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
        storage.exit_on_sigterm()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        if not keep:
            shutil.rmtree(models, ignore_errors=True)
    return EXIT_OK


def run_web_space(args: argparse.Namespace) -> int:
    from .webpage import space

    repos = dict(webpage_site.HUB_COPIES)
    for task in registry.TASKS:
        for side in registry.SIDES:
            if value := getattr(args, f"{task}_{side}".replace("-", "_")):
                repos[(task, side)] = value
    try:
        written = space.write_space(Path(args.out), repos)
    except OSError as err:
        raise CliError(f"could not write {args.out}: {err.strerror or err}") from err
    for path in written:
        print(path)
    missing = [f"--{task}-{side}" for (task, side), repo in repos.items() if not repo]
    if missing:
        print(
            f"note: no transformers.js copy for {', '.join(missing)}: the page says so on those tasks; "
            "export one with `distilbert-demo export-web`, push it to a model repository and pass its id",
            file=sys.stderr,
        )
    return EXIT_OK


COMMANDS = {
    "compare": run_compare,
    "attention": run_attention,
    "distill": run_distill,
    "bench": run_bench,
    "evaluate": run_evaluate,
    "explain": run_explain,
    "ladder": run_ladder,
    "doctor": run_doctor,
    "prefetch": run_prefetch,
    "export-web": run_export_web,
    "web": run_web,
    "web-space": run_web_space,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one line on stderr and an exit code, never a traceback."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputError as err:
        code, message = EXIT_INPUT, str(err)
    except loading.LoadError as err:
        code, message = EXIT_LOAD, str(err)
    except CliError as err:
        code, message = err.code, str(err)
    print(f"error: {message}", file=sys.stderr)
    return code
