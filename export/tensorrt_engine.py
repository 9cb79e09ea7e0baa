"""ONNX -> TensorRT engine with the TensorRT Python API (10.x).

UNVERIFIED: TensorRT cannot be installed on the machines this project is developed and
tested on (its PyPI packages fetch their libraries from NVIDIA's own index).  This code
follows NVIDIA's documented TensorRT 10 Python API; it has never been run.  TensorRT 11
is expected to drop the explicit-batch network flag entirely (already the only mode in
10.x, so it is not passed here) and the deprecated ``build_engine``; this module uses only
``build_serialized_network``, which carries over.
"""

from __future__ import annotations

import json
from pathlib import Path

from hadinfer.errors import MissingDependencyError, ModelFileError, ParameterError
from hadinfer.io.atomic import atomic_output
from hadinfer.io.writer import check_output_path


def import_tensorrt():
    """Import tensorrt or raise an error naming the extra."""
    try:
        import tensorrt
    except ImportError as exc:
        raise MissingDependencyError("TensorRT is not installed: pip install 'hadinfer[tensorrt]' on a machine "
                                     "with an NVIDIA GPU (unverified path, see README)") from exc
    return tensorrt


def build_engine(onnx_path, output, *, min_tile: int = 64, opt_tile: int = 512, max_tile: int = 1024,
                 max_batch: int = 4, fp16: bool = True, timing_cache=None, overwrite: bool = False) -> Path:
    """Parse an ONNX model and build a serialized TensorRT engine.

    One optimisation profile covers (1..max_batch, C, min..max tile, min..max tile) with
    ``opt_tile`` as the tuned shape.  The ONNX metadata is written beside the engine as
    ``<engine>.json``, which the runtime checks like ONNX metadata.

    Raises
    ------
    MissingDependencyError
        TensorRT is not installed.
    ParameterError
        Tile sizes not ordered ``min <= opt <= max``.
    ModelFileError
        TensorRT cannot parse the ONNX model or build an engine.
    """
    if not 1 <= min_tile <= opt_tile <= max_tile:
        raise ParameterError(f"tiles: need 1 <= min <= opt <= max, got {min_tile}, {opt_tile}, {max_tile}")
    trt = import_tensorrt()
    import onnx

    target = check_output_path(output, overwrite=overwrite)
    proto = onnx.load(str(onnx_path))
    metadata = {p.key: p.value for p in proto.metadata_props}
    channels = int(metadata["channels"])
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"{onnx_path}: TensorRT cannot parse it ({errors})")
    config = builder.create_builder_config()
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    cache_bytes = Path(timing_cache).read_bytes() if timing_cache and Path(timing_cache).is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, channels, min_tile, min_tile), (1, channels, opt_tile, opt_tile),
                      (max_batch, channels, max_tile, max_tile))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelFileError(f"{onnx_path}: TensorRT could not build an engine (see its log above)")
    metadata.update(engine_precision="float16" if fp16 else "float32", min_tile=str(min_tile),
                    opt_tile=str(opt_tile), max_tile=str(max_tile), max_batch=str(max_batch))
    sidecar = Path(str(target) + ".json")
    # Every file goes through the one write rule: unique temp name, no symlinks, never onto the
    # ONNX input or another output, renamed into place; the sidecar first, so an engine never
    # appears without its metadata.  The timing cache is both read and rewritten, by design.
    with atomic_output(sidecar, overwrite=overwrite, inputs=(onnx_path,), others=(target, timing_cache)) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2) + "\n")
    with atomic_output(target, overwrite=overwrite, inputs=(onnx_path,), others=(sidecar, timing_cache)) as tmp:
        tmp.write_bytes(bytes(serialized))
    if timing_cache:
        with atomic_output(timing_cache, overwrite=True, inputs=(onnx_path,), others=(target, sidecar)) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    return target
