"""Models run by ONNX Runtime.

- ``OnnxInt8Runner``, the image models' ``int8`` precision: the model exported to ONNX, its weight MatMuls
  dynamically quantised (about 4x faster than fp32 for ViT-B on 2 CPU threads); built once per weights, cached on
  disk.
- ``OnnxRunner``: a small model exported in memory and run in fp32 on one thread (the landmark sequence models).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from signspace.models.transforms import InputSpec

logger = logging.getLogger(__name__)

QUANT_RECIPE = "onnx-dynamic-int8:weight-matmuls:v1"  # part of the cache key: a new recipe rebuilds


def _model_fingerprint(model, extra: str) -> str:
    """Identifies the exact weights, so a cached ONNX file is never used for another model."""
    digest = hashlib.sha256(extra.encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        flat = tensor.detach().float().flatten()
        digest.update(flat[:: max(1, flat.numel() // 64)].numpy().tobytes())  # a sample of each tensor
        digest.update(str(tuple(tensor.shape)).encode())
    return digest.hexdigest()[:24]


class OnnxInt8Runner:
    """ONNX Runtime session over a dynamically int8-quantised export of the model."""

    def __init__(self, model, spec: InputSpec, threads: int, cache_dir: Path):
        import onnxruntime as ort

        options = _session_options(threads)
        self.path = self._build(model, spec, Path(cache_dir))
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail) share no public base
            # A cached file damaged on disk (or cut short by a full disk) would fail every start: rebuild it once.
            logger.warning("cached int8 model %s is unusable (%s); rebuilding it", self.path, str(exc).splitlines()[0])
            self.path.unlink(missing_ok=True)
            self.path = self._build(model, spec, Path(cache_dir))
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @staticmethod
    def _build(model, spec: InputSpec, cache_dir: Path) -> Path:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        key = _model_fingerprint(model, f"{type(model).__name__}:{spec.size}:{QUANT_RECIPE}")
        target = cache_dir / "onnx" / f"{key}-int8.onnx"
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fp32_path = target.with_name(f".{key}-{os.getpid()}-fp32.onnx")
        tmp_path = target.with_name(f".{key}-{os.getpid()}-int8.onnx")
        started = time.perf_counter()
        try:
            _export(model, torch.zeros(1, 3, spec.size, spec.size), "pixel_values", str(fp32_path))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(
                    str(fp32_path),
                    str(tmp_path),
                    weight_type=QuantType.QInt8,
                    nodes_to_exclude=_activation_matmuls(fp32_path),
                )
            os.replace(tmp_path, target)  # atomic: a killed build never leaves a half file in the cache
        finally:
            for leftover in (fp32_path, tmp_path):
                leftover.unlink(missing_ok=True)
        logger.info("built int8 ONNX model in %.1f s: %s", time.perf_counter() - started, target)
        return target

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"pixel_values": pixels})[0]


def _activation_matmuls(onnx_path: Path) -> list[str]:
    """MatMuls between two activations (attention scores and mixing): kept in float, since quantising
    both sides on the fly costs accuracy and saves little; weight MatMuls carry the speed-up."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    weights = {initializer.name for initializer in graph.initializer}
    return [node.name for node in graph.node if node.op_type == "MatMul" and not any(i in weights for i in node.input)]


def linear_share(model) -> float:
    """Fraction of parameters in Linear layers: high for ViTs (int8 pays), low for conv nets (it does not)."""
    total = sum(p.numel() for p in model.parameters())
    linear = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    return linear / max(1, total)


class OnnxRunner:
    """A small model's logits from ONNX Runtime, exported in memory (a fraction of a second; nothing cached on disk,
    so a model the Teach tab trains leaves no file behind). For the landmark sequence models: ~1 ms a window on one
    thread where PyTorch's eager ops cost ~4.4 ms (7 ms of CPU on two threads), and the session's own thread
    count changes nothing for other models in the process, as ``torch.set_num_threads`` would
    (docs/benchmarks.md). Same logits as PyTorch within ~1e-5 on real landmarks (tests).

    ``with_features``: the model's ``classify`` is exported instead, and a call returns (logits, features)."""

    def __init__(self, model, example: torch.Tensor, input_name: str, threads: int = 1, with_features: bool = False):
        import onnxruntime as ort

        exported = io.BytesIO()
        self.outputs = ["logits", "features"] if with_features else ["logits"]
        _export(model, example, input_name, exported, self.outputs)
        self.input_name = input_name
        self.session = ort.InferenceSession(
            exported.getvalue(), _session_options(threads), providers=["CPUExecutionProvider"]
        )

    def __call__(self, values: np.ndarray):
        found = self.session.run(self.outputs, {self.input_name: values})
        return tuple(found) if len(found) > 1 else found[0]


def onnx_bytes(model, example: torch.Tensor, input_name: str, with_features: bool = False) -> bytes:
    """The model's logits (and with ``with_features`` its ``classify``'s features) as ONNX, in memory: what a
    visitor's page runs in ONNX Runtime Web (the same export the server's ``OnnxRunner`` runs)."""
    exported = io.BytesIO()
    _export(model, example, input_name, exported, ("logits", "features") if with_features else ("logits",))
    return exported.getvalue()


def _export(model, example: torch.Tensor, input_name: str, target, outputs=("logits",)) -> None:
    """The model's logits (and features) as ONNX (opset 17, any batch size) to ``target``: a path or a file
    object."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            _Outputs(model, input_name, len(outputs) > 1),
            (example,),
            target,
            input_names=[input_name],
            output_names=list(outputs),
            opset_version=17,
            dynamo=False,
            dynamic_axes={input_name: {0: "batch"}, **{name: {0: "batch"} for name in outputs}},
        )


def _session_options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


class _Outputs(torch.nn.Module):
    """The exported function: the logits, or ``classify``'s (logits, features). Made in eval mode: the exporter puts
    the wrapper back in the mode it found it in, and a fresh module's training mode, restored, would switch the
    caller's model to training (dropout on)."""

    def __init__(self, model, input_name: str, with_features: bool = False):
        super().__init__()
        self.model = model
        self.input_name = input_name
        self.with_features = with_features
        self.eval()

    def forward(self, values):
        if self.with_features:
            return self.model.classify(values)
        return self.model(**{self.input_name: values}).logits
