"""PyTorch: a hadinfer checkpoint (``hadinfer train``) or a network in memory (torch imported lazily)."""

from __future__ import annotations

import contextlib
import copy

from ..arrays.torch_arrays import import_torch, torch_device
from ..models.metadata import ONNX_FORMAT, ONNX_FORMAT_VERSION, check_model_path
from .base import ModelRuntime, check_metadata


class TorchRuntime(ModelRuntime):
    """Run an :class:`~hadinfer.models.anomaly_fcn.AnomalyFCN` in PyTorch, on the CPU or CUDA.

    On CUDA, convolutions run in full float32: PyTorch lets cuDNN use TF32 by default on
    Ampere and later, which costs about 1e-3 relative and breaks parity with the CPU and
    ONNX Runtime; TF32 is switched off for the call only, not for the process.

    Binding (:meth:`~hadinfer.runtimes.ModelRuntime.bind`) copies the network to the
    device, so the model given here is never moved and a later change to it reaches
    the next binding, not one that is running.

    Parameters
    ----------
    model : AnomalyFCN
    metadata : dict
        Checkpoint metadata (``input``: the input policy; ``provenance``).
    path : str, optional
        The checkpoint the model came from.
    """

    name = "torch"
    extra = "torch"

    def __init__(self, model, metadata: dict | None = None, path: str | None = None):
        self._torch = import_torch()
        self._model = model.eval()
        self.path = path or "<in memory>"
        stored = dict(metadata or {})
        self.checkpoint_metadata = stored
        self.metadata = check_metadata({
            "hadinfer_format": ONNX_FORMAT, "format_version": ONNX_FORMAT_VERSION,
            "channels": model.config.in_channels, "receptive_radius": model.config.receptive_radius,
            "input_policy": stored.get("input") or {}, "network": model.config.to_dict(),
            "provenance": stored.get("provenance") or {}, "precision": "float32"}, self.path)
        self._where = self._network = None  # set by _bind

    @classmethod
    def open(cls, path) -> "TorchRuntime":
        from ..models.checkpoint import load_checkpoint

        path = check_model_path(path)
        import_torch()  # a missing torch is a one-line error naming the extra
        model, metadata = load_checkpoint(path)
        return cls(model, metadata, path)

    @property
    def model(self):
        """The network (evaluation mode, on the CPU)."""
        return self._model

    def devices(self) -> list[str]:
        cuda = self._torch.cuda
        gpus = cuda.device_count() if cuda.is_available() else 0
        return [f"cuda:{i}" for i in range(gpus)] + ["cpu"]

    def unavailable_reason(self, device: str) -> str:
        if not self._torch.cuda.is_available():
            return "PyTorch sees no CUDA GPU (a CPU build, or no driver)"
        return f"PyTorch sees {self._torch.cuda.device_count()} GPU(s)"

    def _bind(self, device: str) -> "TorchRuntime":
        bound = copy.copy(self)
        bound.device = device
        bound._where = torch_device(self._torch, device)
        bound._network = copy.deepcopy(self._model).to(bound._where)
        return bound

    def run(self, batch):
        self._check_bound()
        torch = self._torch
        inputs = torch.from_numpy(batch)
        if self._where.type == "cuda":
            inputs = inputs.pin_memory().to(self._where, non_blocking=True)
        with torch.inference_mode(), full_float32(torch):
            return self._network(inputs)[:, 0].float().cpu().numpy()


@contextlib.contextmanager
def full_float32(torch):
    """cuDNN convolutions without TF32, for this block only (PyTorch's default allows it)."""
    with torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, benchmark=torch.backends.cudnn.benchmark,
                                    deterministic=torch.backends.cudnn.deterministic, allow_tf32=False):
        yield
