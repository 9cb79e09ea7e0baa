"""ONNX -> hadinfer engine file with the TensorRT Python API (10.x and 11.x).

NOT RUN ON A GPU: TensorRT cannot be installed on the machines this project is developed
and tested on.  This follows NVIDIA's documented API and is checked by contract tests
against a fake ``tensorrt`` module in two variants (``tests/runtimes/fake_tensorrt.py``):
TensorRT 10, which still has ``BuilderFlag.FP16``, and TensorRT 11, which removed it.

Networks are always built *strongly typed*: the precision is the ONNX graph's own
(``hadinfer export --fp16`` for float16), on TensorRT 10 and 11 alike, so no build ever
depends on the removed flag, and TensorRT cannot choose float16 for the float32 input
compression (raw whitened values above 65504 would become inf).
"""

from __future__ import annotations

from pathlib import Path

from hadinfer.errors import ModelFileError, ParameterError
from hadinfer.io.atomic import atomic_output
from hadinfer.io.writer import check_output_path
from hadinfer.runtimes.engine_file import pack_engine
from hadinfer.runtimes.tensorrt_runtime import import_tensorrt


def network_flags(trt) -> int:
    """``create_network`` flags: strongly typed (explicit batch is the only mode since TensorRT 10)."""
    return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


def build_engine(onnx_path, output, *, min_tile: int = 1, opt_tile: int = 512, max_tile: int = 1024,
                 max_batch: int = 4, timing_cache=None, overwrite: bool = False) -> Path:
    """Parse an ONNX model and write a hadinfer engine file (metadata inside, see :mod:`hadinfer.runtimes.engine_file`).

    One optimisation profile covers (1..max_batch, C, min..max tile, min..max tile) with
    ``opt_tile`` as the tuned shape; the runtime plans its tiles inside it.

    Precision is the ONNX model's: a strongly typed network keeps the float16 layers of
    an ``--fp16`` export in float16 and everything else in float32 (TF32 is switched off
    where the flag exists, for parity with the CPU).

    Raises
    ------
    MissingDependencyError
        TensorRT is not installed.
    ParameterError
        Tile sizes not ordered ``1 <= min <= opt <= max``, or a batch below 1.
    ModelFileError
        TensorRT cannot parse the ONNX model or build an engine.
    """
    if not 1 <= min_tile <= opt_tile <= max_tile:
        raise ParameterError(f"tiles: need 1 <= min <= opt <= max, got {min_tile}, {opt_tile}, {max_tile}")
    if max_batch < 1:
        raise ParameterError(f"max_batch: expected >= 1, got {max_batch}")
    trt = import_tensorrt()
    import onnx

    target = check_output_path(output, overwrite=overwrite, inputs=(onnx_path,))
    proto = onnx.load(str(onnx_path))
    metadata = {p.key: p.value for p in proto.metadata_props}
    if "channels" not in metadata:
        raise ModelFileError(f"{onnx_path}: not a hadinfer ONNX model (no metadata)")
    channels = int(metadata["channels"])
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"{onnx_path}: TensorRT cannot parse it ({errors})")
    config = builder.create_builder_config()
    if hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
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
    metadata.update(engine_precision=metadata.get("precision", "float32"), min_tile=str(min_tile),
                    opt_tile=str(opt_tile), max_tile=str(max_tile), max_batch=str(max_batch),
                    tensorrt_version=str(trt.__version__))
    # One file, metadata inside, through the one write rule: unique temp name, no symlinks,
    # never onto the ONNX input or the timing cache, renamed into place when complete.
    with atomic_output(target, overwrite=overwrite, inputs=(onnx_path,), others=(timing_cache,)) as tmp:
        tmp.write_bytes(pack_engine(metadata, bytes(serialized)))
    if timing_cache:  # both read and rewritten, by design
        with atomic_output(timing_cache, overwrite=True, inputs=(onnx_path,), others=(target,)) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    return target
