"""Benchmark: which int8 paths the ladder keeps as rungs (int8.py, variants.py), chosen by measurement.

    python -m benchmarks.int8_paths [--models bert distilbert] [--lengths 16 128] [--seconds 8]

For each model of the sentiment pair (offline: the architecture twins), every int8 path torchao and
ONNX Runtime document for x86 CPUs, timed together with fp32 in one interleaved run per length
(batch 1): torchao's `quantize_` with Int8DynamicActivationInt8WeightConfig eager and under
torch.compile; torchao's PT2E flow with the X86InductorQuantizer, static (calibrated on the shipped
examples; the ladder's rung, an AOTInductor package) and dynamic (through torch.compile with
freezing); ONNX Runtime's dynamic quantiser (QOperator, per tensor and per channel) and its static
one (QDQ per tensor and per channel, and QOperator), calibrated on the same examples. Prints each
path's build time, median ms, speed-up over fp32 of the same model, and its median |Δlogit| against
fp32 on the shipped examples as a share of fp32's logit spread (the ladder's fidelity measure).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from distilbert_demo import measure, variants
from distilbert_demo.loading import LoadedModel, load_model
from distilbert_demo.sized_inputs import batch_inputs, ids_of_length

Forward = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def torchao_quantize(loaded: LoadedModel, compiled: bool) -> Forward:
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    model = copy.deepcopy(loaded.model).eval()
    quantize_(model, Int8DynamicActivationInt8WeightConfig(set_inductor_config=compiled))
    if compiled:
        import torch._inductor.config as inductor

        inductor.freezing = True
        model = torch.compile(model, dynamic=True)
    return lambda inputs: model(**inputs).logits


def pt2e(loaded: LoadedModel, static: bool) -> Forward:
    import torch._inductor.config as inductor
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    module, example, dynamic = variants._exportable(loaded)
    if static:  # the ladder's int8-compiled rung, built as the ladder builds it (an AOTInductor package)
        with tempfile.TemporaryDirectory() as folder:
            return variants.build(loaded, "int8-compiled", Path(folder)).forward
    with torch.no_grad():
        exported = torch.export.export(module, args=(), kwargs=example, dynamic_shapes=dynamic).module()
        config = xiq.get_default_x86_inductor_quantization_config(is_dynamic=True)
        prepared = prepare_pt2e(exported, xiq.X86InductorQuantizer().set_global(config))
        prepared(**example)
        converted = convert_pt2e(prepared)
    move_exported_model_to_eval(converted)
    inductor.freezing = True
    compiled = torch.compile(converted, dynamic=True)
    return lambda inputs: compiled(**inputs)


def onnx_runtime(loaded: LoadedModel, folder: Path, how: str) -> Forward:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = variants.export_onnx(loaded, folder)
    prepared, target = folder / "prepared.onnx", folder / f"{how}.onnx"
    if not prepared.is_file():
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    per_channel = how.endswith("per-channel")
    if how.startswith("dynamic"):
        quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8, per_channel=per_channel)
    else:
        batches = [{k: v.numpy() for k, v in b.items()} for b in variants.calibration_inputs(loaded)]

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.left = iter(batches)

            def get_next(self):
                return next(self.left, None)

        quantize_static(
            str(prepared),
            str(target),
            Reader(),
            quant_format=QuantFormat.QOperator if "qoperator" in how else QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    session = variants.ort_session(target)
    wanted = {i.name for i in session.get_inputs()}
    return lambda inputs: torch.from_numpy(
        session.run(["logits"], {k: v.numpy() for k, v in inputs.items() if k in wanted})[0]
    )


def paths(loaded: LoadedModel, folder: Path) -> dict[str, Callable[[], Forward]]:
    fp32 = loaded.model.eval()
    return {
        "fp32": lambda: lambda inputs: fp32(**inputs).logits,
        "torchao quantize_ eager (int8)": lambda: torchao_quantize(loaded, compiled=False),
        "torchao PT2E static + compile (int8-compiled)": lambda: pt2e(loaded, static=True),
        "torchao PT2E dynamic + compile": lambda: pt2e(loaded, static=False),
        "ORT dynamic QOperator per-tensor (onnx-int8)": lambda: onnx_runtime(loaded, folder, "dynamic"),
        "ORT dynamic QOperator per-channel": lambda: onnx_runtime(loaded, folder, "dynamic-per-channel"),
        "ORT static QDQ per-tensor": lambda: onnx_runtime(loaded, folder, "static-qdq"),
        "ORT static QDQ per-channel": lambda: onnx_runtime(loaded, folder, "static-qdq-per-channel"),
        "ORT static QOperator per-tensor": lambda: onnx_runtime(loaded, folder, "static-qoperator"),
        # last: torchao's recommended inductor settings (set_inductor_config) are global
        "torchao quantize_ + compile": lambda: torchao_quantize(loaded, compiled=True),
    }


def fidelity(forward: Forward, reference: torch.Tensor, texts: list[dict[str, torch.Tensor]]) -> float:
    """Median |Δlogit| against fp32 on the shipped examples, over fp32's logit spread."""
    got = torch.cat([forward(t).float() for t in texts])
    return float((got - reference).abs().median() / reference.std())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bert", "distilbert"], choices=["bert", "distilbert"])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    threads = measure.configure_threads(None)
    print(f"{measure.cpu_name()}, {threads} threads, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as cache, torch.inference_mode():
        for side in args.models:
            loaded = load_model("sentiment", side)
            texts = variants.calibration_inputs(loaded)[:-1]  # the shipped examples, one at a time
            reference = torch.cat([loaded.model(**t).logits for t in texts])
            built, notes = {}, {}
            for name, make in paths(loaded, Path(cache) / side).items():
                started = time.perf_counter()
                try:
                    forward = make()
                    error = fidelity(forward, reference, texts)  # also compiles, so it counts in the build
                except Exception as err:  # noqa: BLE001 - a path that fails here is reported, not fatal
                    print(f"{loaded.name}: {name} failed: {(str(err).splitlines() or [''])[0][:200]}")
                    continue
                built[name] = forward
                notes[name] = f"built in {time.perf_counter() - started:5.1f} s, median |Δlogit| {error:.2%}"
            for seq_len in args.lengths:
                inputs = batch_inputs(loaded, ids_of_length(loaded.tokenizer, seq_len, False), 1)
                runs = {name: (lambda f=f, i=inputs: f(i)) for name, f in built.items()}
                stats = measure.time_interleaved(runs, budget_s=args.seconds)
                fp32 = stats["fp32"].median_ms
                print(f"\n{loaded.name}, {seq_len} tokens, batch 1 (n = {stats['fp32'].runs} interleaved rounds)")
                for name, s in stats.items():
                    print(f"  {name:<46} {s.median_ms:7.1f} ms {fp32 / s.median_ms:5.2f}x  {notes[name]}")


if __name__ == "__main__":
    main()
