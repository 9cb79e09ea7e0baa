"""CUDA device memory and streams for TensorRT, through PyTorch (imported lazily).

TensorRT reads and writes raw device addresses; something must allocate them and copy
to and from the host.  PyTorch does it here (so no second CUDA binding is needed).  The
small interface below is what :class:`~hadinfer.runtimes.tensorrt_runtime.TensorRTRuntime`
uses, so the contract tests can run it on the CPU with host memory standing in
(``tests/runtimes/fake_tensorrt.py``).
"""

from __future__ import annotations

import numpy as np


class TorchCudaMemory:
    """Device buffers (float32 torch tensors), a dedicated stream per device, pinned copies."""

    def __init__(self):
        from ..arrays.torch_arrays import import_torch

        self._torch = import_torch()

    def device_count(self) -> int:
        """CUDA devices usable here (0 without a GPU)."""
        cuda = self._torch.cuda
        return cuda.device_count() if cuda.is_available() else 0

    def on(self, device: str):
        """A context in which ``device`` is the current CUDA device (TensorRT binds to it)."""
        return self._torch.cuda.device(self._torch.device(device))

    def new_stream(self, device: str):
        """``(stream, handle)``: a non-default stream, so TensorRT does not serialise with other work."""
        stream = self._torch.cuda.Stream(device=self._torch.device(device))
        return stream, stream.cuda_stream

    def empty(self, count: int, device: str):
        """A float32 buffer of ``count`` values on ``device``."""
        return self._torch.empty(count, dtype=self._torch.float32, device=self._torch.device(device))

    @staticmethod
    def address(buffer) -> int:
        """The buffer's device address."""
        return buffer.data_ptr()

    def upload(self, host: np.ndarray, buffer, stream) -> object:
        """Copy ``host`` into the start of ``buffer`` asynchronously on ``stream``; returns what must live until then."""
        pinned = self._torch.from_numpy(np.ascontiguousarray(host, dtype=np.float32)).pin_memory()
        with self._torch.cuda.stream(stream):
            buffer[:pinned.numel()].copy_(pinned.reshape(-1), non_blocking=True)
        return pinned

    def download(self, buffer, shape, stream) -> np.ndarray:
        """The first ``prod(shape)`` values of ``buffer`` on the host, after ``stream`` has finished."""
        count = int(np.prod(shape))
        host = self._torch.empty(count, dtype=self._torch.float32, pin_memory=True)
        with self._torch.cuda.stream(stream):
            host.copy_(buffer[:count], non_blocking=True)
        stream.synchronize()
        return host.numpy().reshape(shape).copy()
