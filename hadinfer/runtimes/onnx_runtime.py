"""ONNX Runtime: a hadinfer ONNX model on the CPU or on CUDA (onnxruntime imported lazily)."""

from __future__ import annotations

import copy
import logging

from ..cpu_threads import cpu_cores, tile_workers
from ..errors import DeviceUnavailableError, MissingDependencyError, ModelFileError, one_line
from ..models.metadata import check_model_path
from .base import ModelRuntime, check_metadata
from .gpus import visible_gpu_count

log = logging.getLogger(__name__)

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


def import_onnxruntime():
    """Import onnxruntime or raise an error naming the extra."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError("ONNX models need onnxruntime: pip install 'hadinfer[onnx]' "
                                     "(or 'hadinfer[onnx-gpu]' for CUDA)") from exc
    return onnxruntime


class OnnxRuntime(ModelRuntime):
    """A hadinfer ONNX model (``hadinfer export``) run by ONNX Runtime.

    Everything is checked when it is opened, before any pixel is read: its metadata
    (format version, channels, input policy, receptive field) and its graph (a float32
    input ``input`` of rank 4 whose channel dimension is the metadata's ``channels``, an
    output ``logits`` of rank 4 with one channel).

    CUDA is offered only when the installed ONNX Runtime has the CUDA provider and the
    driver shows a GPU; torch is never consulted.  ``cuda:N`` becomes the provider's
    ``device_id``.  A session that silently fell back to the CPU is an error.  The CPU
    session that checks the model at :meth:`open` is the one a CPU binding runs; a CUDA
    binding creates its own session once, when it is bound.

    Threads: one intra-op pool of one thread per core with spinning off, and the
    pipeline scores one tile at a time, so ONNX Runtime's pool is the only compute pool
    and a busy neighbour process does not make idle threads spin against it.
    """

    name = "onnxruntime"
    extra = "onnx"

    def __init__(self, path, ort, metadata, cpu_session):
        self.path, self._ort, self.metadata = path, ort, metadata
        self._cpu_session = cpu_session
        self.session = None  # the bound device's inference session (set by _bind)

    @classmethod
    def open(cls, path) -> "OnnxRuntime":
        path = check_model_path(path)
        ort = import_onnxruntime()
        session = _new_session(ort, path, "cpu")
        metadata = check_metadata(session.get_modelmeta().custom_metadata_map, path)
        check_graph(session, metadata["channels"], path)
        return cls(path, ort, metadata, session)

    def devices(self) -> list[str]:
        gpus = visible_gpu_count() if CUDA_PROVIDER in self._ort.get_available_providers() else 0
        return [f"cuda:{i}" for i in range(gpus)] + ["cpu"]

    def unavailable_reason(self, device: str) -> str:
        if CUDA_PROVIDER not in self._ort.get_available_providers():
            return ("this ONNX Runtime has no CUDA provider (it is the CPU build): pip install "
                    "'hadinfer[onnx-gpu]' instead of 'hadinfer[onnx]'")
        return f"ONNX Runtime sees {visible_gpu_count()} GPU(s)"

    def _bind(self, device: str) -> "OnnxRuntime":
        bound = copy.copy(self)
        bound.device = device
        bound.session = self._cpu_session if device == "cpu" else _new_session(self._ort, self.path, device)
        return bound

    def run(self, batch):
        self._check_bound()
        try:
            return self.session.run(["logits"], {"input": batch})[0][:, 0].astype("float32", copy=False)
        except Exception as exc:  # ORT's own Fail/InvalidArgument/...: what the checks at open cannot see
            raise ModelFileError(f"{self.path}: ONNX Runtime failed on a {batch.shape} batch ({one_line(exc)})") \
                from exc


def session_options(ort, device: str):
    """Session options: no spinning, warnings shown on a GPU, and one thread per call where the
    pipeline runs one call per core.

    With threadpoolctl (extra ``fast``) the pipeline scores a tile per core on the CPU
    (:class:`NetworkDetector` is ``tile_parallel`` with this runtime,
    :func:`hadinfer.cpu_threads.tile_workers`), each call on one thread: ``general`` on
    1024 x 1024 x 200 took 5.9 s instead of 6.4 with one call at a time on every core
    (2-core VM), and its map no longer depends on the machine's core count (ONNX Runtime
    splits a kernel's work, and so its rounding, by its thread count).  Without it one
    call runs at a time on every core the process may use (8.8 s; one thread per call
    there took 9.6 s).  On a GPU the pool serves the nodes left on the CPU.

    On the CPU, memory patterns are off.  With them ONNX Runtime plans one block for all of a
    call's intermediate tensors per input shape and keeps each in its arena; a scene's
    tiles come in up to four shapes (edges), and two calls run at once, so the arena held
    282 MiB after 16 calls of ``general-v3`` on 268 x 268 and edge tiles in two threads,
    against 196 MiB without them, and one call took the same time (85.3 ms median of 15
    either way, one thread; 2-core AMD VM, 2026-12-07).  The maps are the same bits: the
    plan decides where tensors live, not what is computed.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1 if device == "cpu" and tile_workers("cpu", True) > 1 else cpu_cores()
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = device != "cpu"
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # On a GPU, ONNX Runtime warns when a node falls back to the CPU (e.g. an operator
    # without a CUDA kernel): that warning must be seen, not hidden at level 3.
    options.log_severity_level = 3 if device == "cpu" else 2
    return options


def _new_session(ort, path: str, device: str):
    if device == "cpu":
        providers = [CPU_PROVIDER]
    else:
        if hasattr(ort, "preload_dlls"):  # ORT >= 1.21 with CUDA and cuDNN from pip wheels
            ort.preload_dlls()
        index = int(device.split(":")[1]) if ":" in device else 0
        providers = [(CUDA_PROVIDER, {"device_id": index}), CPU_PROVIDER]
    try:
        session = ort.InferenceSession(path, session_options(ort, device), providers=providers)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        raise ModelFileError(f"{path}: ONNX Runtime cannot load it ({one_line(exc)})") from exc
    if device != "cpu" and session.get_providers()[0] != CUDA_PROVIDER:
        # onnxruntime-gpu falls back to the CPU silently when CUDA cannot load.
        raise DeviceUnavailableError(f"--device {device}: ONNX Runtime could not use {CUDA_PROVIDER} "
                                     f"(it offers {session.get_providers()})")
    log.debug("%s: ONNX Runtime session on %s (%s)", path, device, session.get_providers())
    return session


def check_graph(session, channels: int, path: str) -> None:
    """Refuse a graph the runtime could not feed, before any statistics pass.

    The runtime feeds ``input`` a float32 (batch, channels, rows, cols) array and reads
    channel 0 of ``logits``; a dimension the graph leaves symbolic is accepted.

    Raises
    ------
    ModelFileError
    """
    inputs = {arg.name: arg for arg in session.get_inputs()}
    outputs = {arg.name: arg for arg in session.get_outputs()}
    if "input" not in inputs:
        raise ModelFileError(f"{path}: the graph has no input named 'input' (its inputs: {', '.join(inputs)})")
    if "logits" not in outputs:
        raise ModelFileError(f"{path}: the graph has no output named 'logits' (its outputs: {', '.join(outputs)})")
    if len(inputs) > 1:
        raise ModelFileError(f"{path}: the graph has {len(inputs)} inputs ({', '.join(inputs)}); hadinfer feeds "
                             "only 'input'")
    arg = inputs["input"]
    if arg.type != "tensor(float)":
        raise ModelFileError(f"{path}: input 'input' is {arg.type}, expected tensor(float) (float32)")
    shape = arg.shape
    if shape is None or len(shape) != 4:
        raise ModelFileError(f"{path}: input 'input' has rank {len(shape or [])} (shape {_dims(shape)}), expected "
                             f"4: (batch, {channels} channels, rows, cols)")
    if isinstance(shape[1], int) and shape[1] != channels:
        raise ModelFileError(f"{path}: input 'input' has {shape[1]} channels (shape {_dims(shape)}), but its "
                             f"metadata says {channels}")
    arg = outputs["logits"]
    if arg.type not in ("tensor(float)", "tensor(float16)", "tensor(double)"):
        raise ModelFileError(f"{path}: output 'logits' is {arg.type}, expected a floating-point tensor")
    shape = arg.shape
    if shape is not None and len(shape) != 4:
        raise ModelFileError(f"{path}: output 'logits' has rank {len(shape)} (shape {_dims(shape)}), expected 4: "
                             "(batch, 1, rows, cols)")
    if shape is not None and isinstance(shape[1], int) and shape[1] != 1:
        raise ModelFileError(f"{path}: output 'logits' has {shape[1]} channels (shape {_dims(shape)}), expected 1")


def _dims(shape) -> str:
    """``(batch, 17, height, width)``: symbolic dimensions by name, unknown ones as ``?``."""
    return "(" + ", ".join("?" if d is None else str(d) for d in (shape or [])) + ")"
