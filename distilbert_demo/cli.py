"""Command line: the same functions the web app calls.

    python -m distilbert_demo compare --task fill-mask --text "Paris is the [MASK] of France."
    python -m distilbert_demo attention --text "The cat sat on the mat." --json --npz maps.npz
    python -m distilbert_demo prefetch

Exit codes: 0 success, 1 a model could not be loaded or downloaded, 2 bad input or flags.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict

from . import compare as compare_mod
from . import loading, measure, registry
from .distill import DistillConfig
from .inputs import InputError

EXIT_OK, EXIT_LOAD, EXIT_INPUT = 0, 1, 2


class CliError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _add_pair_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bert", metavar="ID_OR_PATH", help="teacher-side checkpoint (hub id or local folder)")
    parser.add_argument("--distilbert", metavar="ID_OR_PATH", help="student-side checkpoint (hub id or local folder)")
    parser.add_argument("--threads", type=int, help="torch threads (default: DISTILBERT_DEMO_THREADS or all cores)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m distilbert_demo", description="BERT vs DistilBERT, side by side.")
    commands = parser.add_subparsers(dest="command", required=True)

    cmp = commands.add_parser("compare", help="run both models on one text and compare them")
    cmp.add_argument("--task", choices=list(registry.TASKS), default="fill-mask")
    cmp.add_argument("--text", help="the sentence (fill-mask, sentiment); for qa, the context")
    cmp.add_argument("--question", help="qa: the question")
    cmp.add_argument("--context", help="qa: the passage the answer is taken from (same as --text)")
    _add_pair_flags(cmp)
    cmp.add_argument("--top-k", type=int, default=compare_mod.DEFAULT_TOP_K, help="candidates per mask (1-20)")
    cmp.add_argument("--repeats", type=int, default=compare_mod.DEFAULT_REPEATS, help="timed runs per model")
    cmp.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    att = commands.add_parser("attention", help="extract both models' attention maps and per-layer summaries")
    att.add_argument("--text", required=True)
    att.add_argument("--task", choices=list(registry.TASKS), default="fill-mask", help="which pair to use")
    _add_pair_flags(att)
    att.add_argument("--layer-map", metavar="0,2,4,7,9,11", help="BERT layer for each DistilBERT layer")
    att.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    att.add_argument("--npz", metavar="FILE", help="save the raw attention arrays (bert, distilbert) to FILE")

    dist = commands.add_parser("distill", help="distil a DistilBERT-shaped student from a BERT teacher")
    defaults = DistillConfig()
    dist.add_argument("--teacher", metavar="ID_OR_PATH", help="BERT masked-LM teacher (default: the fill-mask BERT)")
    dist.add_argument("--corpus", metavar="FILE", help="UTF-8 text, one sentence or paragraph per line (streamed)")
    dist.add_argument("--steps", type=int, required=True)
    dist.add_argument("--out", metavar="DIR", required=True, help="where the student and its tokenizer are saved")
    dist.add_argument("--student-layers", metavar="0,2,4,7,9,11", help="teacher layers the student starts from")
    dist.add_argument("--temperature", type=float, default=defaults.temperature)
    dist.add_argument("--alpha-ce", type=float, default=defaults.alpha_ce)
    dist.add_argument("--alpha-mlm", type=float, default=defaults.alpha_mlm)
    dist.add_argument("--alpha-cos", type=float, default=defaults.alpha_cos)
    dist.add_argument("--batch-size", type=int, default=defaults.batch_size)
    dist.add_argument("--seq-len", type=int, default=defaults.seq_len)
    dist.add_argument("--lr", type=float, default=defaults.lr)
    dist.add_argument("--seed", type=int, default=defaults.seed)
    dist.add_argument("--eval-every", type=int, default=defaults.eval_every, help="steps between agreement checks")
    dist.add_argument("--full-ce", action="store_true", help="L_ce over every token, not only masked ones")
    dist.add_argument("--bf16", action="store_true", help="bf16 mixed precision (fast on CPUs with bf16 units)")
    dist.add_argument("--threads", type=int, help="torch threads (default: DISTILBERT_DEMO_THREADS or all cores)")
    dist.add_argument("--json", action="store_true", help="print one JSON object at the end")

    sweep = commands.add_parser("bench", help="latency and memory of both models over lengths, batches, precision")
    sweep.add_argument("--task", choices=list(registry.TASKS), default="fill-mask", help="which pair to measure")
    _add_pair_flags(sweep)
    sweep.add_argument("--seq-lens", default="8,16,32,64,128,256,512", metavar="8,16,...")
    sweep.add_argument("--batch-sizes", default="1,8", metavar="1,8")
    sweep.add_argument("--repeats", type=int, default=10, help="timed runs per model and point")
    sweep.add_argument("--precision", choices=["fp32", "int8", "bf16"], default="fp32")
    sweep.add_argument("--no-baseline", action="store_true", help="skip transformers.pipeline (fill-mask)")
    sweep.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    sweep.add_argument("--csv", metavar="FILE", help="also write every row to FILE")

    ev = commands.add_parser("evaluate", help="accuracy of both sentiment models on a labelled set")
    ev.add_argument("--data", metavar="FILE", help="CSV with columns text,label (default: the shipped set)")
    _add_pair_flags(ev)
    ev.add_argument("--batch-size", type=int, default=32)
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    fetch = commands.add_parser("prefetch", help="download the configured checkpoints into the Hugging Face cache")
    fetch.add_argument("--bert", metavar="ID", help="also fetch this BERT-side checkpoint for every task")
    fetch.add_argument("--distilbert", metavar="ID", help="also fetch this DistilBERT-side checkpoint for every task")
    return parser


def load_pair(task: str, bert: str | None, distilbert: str | None) -> loading.Pair:
    """Load both sides; a side the user named explicitly must load (no silent twin)."""
    sides = {}
    for side, override in (("bert", bert), ("distilbert", distilbert)):
        try:
            sides[side] = loading.load_model(task, side, override, allow_twin=override is None)
        except loading.LoadError as err:
            raise CliError(str(err), EXIT_LOAD) from err
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


def format_table(result: compare_mod.Comparison) -> str:
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
        ("peak extra memory", f"{bert['peak_memory_mb']:.1f} MiB", f"{distil['peak_memory_mb']:.1f} MiB"),
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
        f"speed-up {data['speedup']:.2f}x, size ratio {data['size_ratio']:.2f}",
        f"verdict: {data['verdict']}",
        f"method: {bert['latency_ms']['runs']} timed runs per model after {bert['latency_ms']['warmup']} warm-up, "
        f"interleaved; {data['threads']} threads on {data['device']}; memory: {data['memory_method']}",
    ]
    lines += [f"note: {notice}" for notice in data["notices"]]
    return "\n".join(lines)


def run_compare(args: argparse.Namespace) -> int:
    from . import qa

    measure.configure_threads(args.threads)
    text = args.context if args.task == "qa" and args.context is not None else args.text
    try:
        compare_mod.check_settings(args.top_k, args.repeats)
        if args.task == "qa":  # fail fast, before loading
            question, text = qa.check_qa(args.question, text)
        else:
            text, question = compare_mod.inputs.check_text(text, args.task), None
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    pair = load_pair(args.task, args.bert, args.distilbert)
    try:
        result = compare_mod.compare(pair, text, top_k=args.top_k, repeats=args.repeats, question=question)
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    print(json.dumps(result.to_dict()) if args.json else format_table(result))
    return EXIT_OK


def run_attention(args: argparse.Namespace) -> int:
    import numpy as np

    from . import attention_session

    measure.configure_threads(args.threads)
    try:
        compare_mod.inputs.check_text(args.text, "sentiment")  # any text: a [MASK] is not needed here
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    pair = load_pair(args.task, args.bert, args.distilbert)
    try:
        session = attention_session.analyse(pair, args.text, args.layer_map)
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    for notice in session.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.npz:
        try:
            np.savez_compressed(args.npz, bert=session.bert.attentions, distilbert=session.distilbert.attentions)
        except OSError as err:
            raise CliError(f"could not write {args.npz}: {err.strerror or err}", EXIT_INPUT) from err
    data = attention_session.to_json(session)
    if args.json:
        print(json.dumps(data))
        return EXIT_OK
    print(f"tokens ({len(session.bert.tokens)}): {' '.join(session.bert.tokens)}")
    print(f"layer map (DistilBERT -> BERT): {session.layer_map}")
    print(session.summaries.round(3).to_string(index=False))
    if args.npz:
        print(f"attention arrays saved to {args.npz}")
    return EXIT_OK


def run_distill(args: argparse.Namespace) -> int:
    from . import corpus, distill, student

    measure.configure_threads(args.threads)
    config = DistillConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        temperature=args.temperature,
        alpha_ce=args.alpha_ce,
        alpha_mlm=args.alpha_mlm,
        alpha_cos=args.alpha_cos,
        lr=args.lr,
        seed=args.seed,
        eval_every=args.eval_every,
        ce_on_masked_only=not args.full_ce,
        bf16=args.bf16,
    )
    try:
        config.check()
        if args.corpus:
            train, heldout, skip = corpus.load_corpus_file(args.corpus, config.eval_sentences)
        else:
            (train, heldout), skip = corpus.split(corpus.toy_corpus()), 0
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    try:
        teacher = loading.load_model("fill-mask", "bert", args.teacher, allow_twin=args.teacher is None)
    except loading.LoadError as err:
        raise CliError(str(err), EXIT_LOAD) from err
    if teacher.model.config.model_type != "bert":
        raise CliError(f"the teacher must be a BERT masked-LM, not {teacher.model.config.model_type}", EXIT_INPUT)
    try:
        layers = None
        if args.student_layers is not None:
            layers = student.parse_layers(args.student_layers, teacher.model.config.num_hidden_layers)
        distiller = distill.Distiller(
            teacher.model, teacher.tokenizer, train, heldout, config, layers, train_skip_lines=skip
        )
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    main = distiller.accelerator.is_main_process
    if main and teacher.source == "twin":
        print(f"warning: {teacher.note}; distilling from an UNTRAINED twin teacher.", file=sys.stderr)
    try:
        for report in distiller.run():
            if main and report.agreement is not None:
                a = report.agreement
                print(
                    f"step {report.step}/{report.steps}  loss {report.losses['loss']:.4f}  "
                    f"agreement {a.top1:.1%}  KL {a.kl:.4f}  {report.steps_per_s:.2f} steps/s",
                    file=sys.stderr,
                )
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    try:
        distiller.save(args.out)
    except OSError as err:
        raise CliError(f"could not save to {args.out}: {err.strerror or err}", EXIT_INPUT) from err
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
        "elapsed_s": round(result.elapsed_s, 3),
        "out": str(args.out),
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
    return EXIT_OK


def _int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise CliError(f"{what} must be whole numbers separated by commas, e.g. 16,128", EXIT_INPUT) from None
    if not values:
        raise CliError(f"give at least one value for {what}", EXIT_INPUT)
    return values


def run_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import bench

    threads = measure.configure_threads(args.threads)
    seq_lens, batch_sizes = _int_list(args.seq_lens, "--seq-lens"), _int_list(args.batch_sizes, "--batch-sizes")
    pair = load_pair(args.task, args.bert, args.distilbert)
    rows: list = []
    bar = tqdm(total=len(seq_lens) * len(batch_sizes), desc="bench", unit="point", file=sys.stderr)
    try:
        for item in bench.sweep(
            pair, seq_lens, batch_sizes, args.precision, repeats=args.repeats, baseline=not args.no_baseline
        ):
            if isinstance(item, bench.Progress):
                bar.n = item.done  # points finished so far
                bar.set_postfix_str(item.label)
            else:
                rows.append(item)
        bar.n = bar.total
        bar.refresh()
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    finally:
        bar.close()
    table = [row.to_dict() for row in rows]
    if args.csv:
        import pandas as pd

        try:
            pd.DataFrame(table).to_csv(args.csv, index=False)
        except OSError as err:
            raise CliError(f"could not write {args.csv}: {err.strerror or err}", EXIT_INPUT) from err
    result = {
        "task": args.task,
        "device": str(pair.bert.device),
        "threads": threads,
        "precision": args.precision,
        "rows": table,
        "speedup": bench.speedups(rows),
        "reading": bench.reading(rows),
    }
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
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
        + ", ".join(f"{s['seq_len']}x{s['batch_size']}: {s['speedup']:.2f}x" for s in result["speedup"])
    )
    print(f"{result['reading']} ({args.precision}, {threads} threads on {result['device']})")
    return EXIT_OK


def run_evaluate(args: argparse.Namespace) -> int:
    from . import evaluate

    measure.configure_threads(args.threads)
    try:
        data = evaluate.load_labelled_file(args.data)
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    pair = load_pair("sentiment", args.bert, args.distilbert)
    try:
        result = evaluate.evaluate(pair, data, batch_size=args.batch_size)
    except InputError as err:
        raise CliError(str(err), EXIT_INPUT) from err
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    print(f"{data.name}: {len(data)} examples")
    for side, model in (("BERT", result.bert), ("DistilBERT", result.distilbert)):
        low, high = model.ci95
        print(
            f"{side:<11} accuracy {model.accuracy:.1%} (95% CI {low:.1%}-{high:.1%}), "
            f"{model.examples_per_second:.1f} examples/s, confusion {model.confusion()}"
        )
    print(f"retention {result.retention:.1%}, agreement {result.agreement:.1%}")
    print(f"verdict: {result.verdict()}")
    return EXIT_OK


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


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    handlers = {
        "compare": run_compare,
        "attention": run_attention,
        "distill": run_distill,
        "bench": run_bench,
        "evaluate": run_evaluate,
        "prefetch": run_prefetch,
    }
    try:
        return handlers[args.command](args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
