"""The int8 rungs against computations made apart from them: the eager rung against torchao's own
documented call and an int8 product done by hand; the compiled rung's oneDNN kernels against the
same quantised graph run in float (and its package's C++ read for them); a rung this machine cannot
run says why."""

import copy
import warnings
import zipfile

import torch

from distilbert_demo import int8, variants
from distilbert_demo.ladder import core

TEXTS = ["The film was long.", "A dull, slow and far too long story about nothing at all."]


def named(encoded) -> dict:
    return {k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def by_hand(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 as torchao defines it: weights per output channel, activations per token,
    scale = max|value| / 127.5, value * (1 / scale) rounded and clamped to [-128, 127], the products
    summed in int32, then scaled by the activation's scale and the weight's."""

    def quantise(t):
        scale = (t.abs().amax(-1, keepdim=True) / 127.5).clamp(min=torch.finfo(torch.float32).eps)
        return torch.clamp(torch.round(t * (1.0 / scale)), -128, 127).to(torch.int32), scale

    qx, sx = quantise(x)
    qw, sw = quantise(weight)
    return (qx @ qw.T).float() * sx * sw.T + bias


def test_int8_is_torchaos_documented_call_and_an_int8_product_by_hand(tiny_store, tmp_path):
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    model = tiny_store.pair("sentiment").bert
    variant = variants.build(model, "int8", tmp_path)
    inputs = named(model.tokenizer(TEXTS, padding=True, return_tensors="pt"))
    theirs = copy.deepcopy(model.model).eval()
    quantize_(theirs, Int8DynamicActivationInt8WeightConfig())
    with torch.inference_mode():
        expected, fp32 = theirs(**inputs).logits, model.model(**inputs).logits
    assert torch.equal(variant.forward(inputs), expected)
    assert 0 < (expected - fp32).abs().max() < 0.05  # quantised: moved, a little
    # one layer by hand, on activations of the size the model sees
    original = model.model.bert.encoder.layer[0].intermediate.dense
    quantised = variant.module.bert.encoder.layer[0].intermediate.dense
    x = torch.randn(7, original.in_features)
    with torch.inference_mode():
        got, float_product = quantised(x), original(x)
    mine = by_hand(x, original.weight.detach(), original.bias.detach())
    assert (got - mine).abs().max() < 1e-6
    assert (got - float_product).abs().max() > 1e-4  # the int8 error is really there


def test_int8_compiled_runs_its_quantised_graph_on_int8_kernels(tiny_store, tmp_path, monkeypatch):
    """The compiled rung against the graph torchao's PT2E calls make (export, prepare, calibrate,
    convert), run here uncompiled: quantize/dequantize in float around float products."""
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # not /tmp/torchinductor_<user>
    for model in tiny_store.pair("sentiment").sides():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            variant = variants.build(model, "int8-compiled", tmp_path)
        assert not _deprecated_quantisation(caught)
        wrapped, example, dynamic = variants._exportable(model)
        with torch.no_grad():
            graph = torch.export.export(wrapped, args=(), kwargs=example, dynamic_shapes=dynamic).module()
            quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
            prepared = prepare_pt2e(graph, quantizer)
            for batch in variants.calibration_inputs(model):
                prepared(**batch)
            reference = convert_pt2e(prepared)
            # three sentences padded: another batch size and length than the example's
            inputs = named(model.tokenizer([*TEXTS, "Fine."], padding=True, return_tensors="pt"))
            simulated, fp32 = reference(**inputs), model.model(**inputs).logits
        got = variant.forward(inputs)
        assert (got - simulated).abs().max() < 0.25 * (got - fp32).abs().max() + 1e-3
        assert 0 < (got - fp32).abs().max() < 0.1
        # the package on disk runs oneDNN's int8 Linear kernels, not float products (what a graph
        # compiled without freezing silently does: pytorch/ao#4566)
        assert variant.size_bytes == variant.files[0].stat().st_size
        assert "aoti_torch_cpu__qlinear_pointwise" in generated_cpp(variant.files[0])
        assert "aoti_torch_cpu_addmm_out" not in generated_cpp(variant.files[0])  # no float Linear


def generated_cpp(package) -> str:
    """The C++ AOTInductor wrote into a package (the wrapper that calls each kernel)."""
    with zipfile.ZipFile(package) as archive:
        return "".join(archive.read(n).decode() for n in archive.namelist() if n.endswith("wrapper.cpp"))


def test_a_rung_this_machine_cannot_run_says_why(tiny_store, tmp_path, monkeypatch):
    monkeypatch.setattr(variants.shutil, "which", lambda _: None)
    assert variants.availability("int8-compiled") == (
        False,
        "the compiled rungs need a C++ compiler (AOTInductor writes C++) and none was found",
    )
    assert variants.availability("int8")[0]  # eager: no compiler needed
    monkeypatch.setattr(int8, "installed", lambda: False)
    for name in ("int8", "int8-compiled"):
        assert variants.availability(name) == (False, "torchao is not installed (pip install torchao)")
    monkeypatch.setattr(int8.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(int8, "installed", lambda: True)
    assert "needs an x86 CPU (this one is aarch64)" in variants.availability("int8-compiled")[1]
    ladder = core.time_ladder(core.build_and_score(tiny_store.pair("sentiment"), tmp_path, ["int8-compiled"]), 16, 0.5)
    refused = [r for r in ladder.rows if r.variant == "int8-compiled"]
    assert len(refused) == 2 and all(not r.available and "x86 CPU" in r.reason for r in refused)


def _deprecated_quantisation(caught) -> list[str]:
    """The warnings that say a quantisation API in use is deprecated (torch.ao.quantization's do)."""
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, (DeprecationWarning, FutureWarning, UserWarning))
        and "deprecat" in str(w.message).lower()
        and "quantiz" in str(w.message).lower()
    ]


def test_no_deprecated_quantisation_api_is_called(tiny_store, tmp_path):
    """torch.ao.quantization's eager API and its quantized tensors are deprecated: building the eager
    int8 rung (and, above, the compiled one) warns of no deprecated quantisation call."""
    model = tiny_store.pair("sentiment").distilbert
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        variants.build(model, "int8", tmp_path)
    assert not _deprecated_quantisation(caught)
    import torch.ao.quantization as old  # the check itself can fail: the path the ladder dropped does warn

    with warnings.catch_warnings(record=True) as old_path:
        warnings.simplefilter("always")
        old.quantize_dynamic(copy.deepcopy(model.model), {torch.nn.Linear}, dtype=torch.qint8)
    assert _deprecated_quantisation(old_path)


def test_onnx_int8_is_onnx_runtimes_documented_dynamic_quantisation(tiny_store, tmp_path):
    """The ONNX int8 rung against ONNX Runtime's quantize_dynamic called here on the same export."""
    import numpy as np
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = tiny_store.pair("sentiment").bert
    variant = variants.build(model, "onnx-int8", tmp_path)
    exported = variants.export_onnx(model, variants.cache_folder(model, tmp_path))
    mine = tmp_path / "mine-int8.onnx"
    quantize_dynamic(str(exported), str(mine), weight_type=QuantType.QInt8)
    inputs = named(model.tokenizer([*TEXTS, "Fine."], padding=True, return_tensors="pt"))
    session = onnxruntime.InferenceSession(str(mine), providers=["CPUExecutionProvider"])
    expected = session.run(["logits"], {k: v.numpy() for k, v in inputs.items()})[0]
    got = variant.forward(inputs).numpy()
    with torch.inference_mode():
        fp32 = model.model(**inputs).logits.numpy()
    # the rung pre-processes the graph first (ONNX Runtime's recommended step): the same int8
    # weights, operations fused in another order, so close to the plain call, not bit-equal
    assert np.abs(got - expected).max() < 0.25 * np.abs(expected - fp32).max() + 1e-4
    assert np.abs(got - fp32).max() > 0  # quantised: moved
