"""Benchmark: which int8 path the ladder uses (variants.INT8_PATH), chosen by measurement.

    .venv/bin/pip install torchao && python -m benchmarks.int8_paths [--lengths 16 128] [--seconds 6]

torchao is not among the app's or the tests' requirements: the ladder does not use it (it was the
slower path here), and importing it prints library-loading messages on stderr that the CLI's
one-line errors must not carry (transformers imports it when it is installed).

Times both models in fp32, through torch.ao's dynamic quantisation (deprecated) and through
torchao's Int8DynamicActivationInt8WeightConfig, interleaved, on the default checkpoints
(offline: their twins); prints the speed-up of each int8 path over fp32 of the same model.
"""

from __future__ import annotations

import argparse
import copy

import torch

from distilbert_demo import measure
from distilbert_demo.loading import load_model
from distilbert_demo.sized_inputs import batch_inputs, ids_of_length


def torchao_int8(model):
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    copied = copy.deepcopy(model).eval()
    quantize_(copied, Int8DynamicActivationInt8WeightConfig())
    return copied


def torch_ao_int8(model):
    return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {torch.nn.Linear}, dtype=torch.qint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    threads = measure.configure_threads(None)
    print(f"{measure.cpu_name()}, {threads} threads, torch {torch.__version__}")
    for side in ("bert", "distilbert"):
        loaded = load_model("sentiment", side)
        models = {
            "fp32": loaded.model.eval(),
            "torch.ao": torch_ao_int8(loaded.model),
            "torchao": torchao_int8(loaded.model),
        }
        for seq_len in args.lengths:
            inputs = batch_inputs(loaded, ids_of_length(loaded.tokenizer, seq_len, False), 1)
            runs = {name: (lambda m=m, i=inputs: m(**i)) for name, m in models.items()}
            stats = measure.time_interleaved(runs, budget_s=args.seconds)
            fp32 = stats["fp32"].median_ms
            cells = ", ".join(f"{name} {s.median_ms:.1f} ms ({fp32 / s.median_ms:.2f}x)" for name, s in stats.items())
            print(f"{loaded.name} at {seq_len} tokens: {cells}")


if __name__ == "__main__":
    main()
