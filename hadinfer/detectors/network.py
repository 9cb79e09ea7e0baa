"""One detector for every trained network, whatever runtime runs it."""

from __future__ import annotations

import numpy as np

from ..arrays import NumpyArrays
from ..errors import WindowTooLargeError
from ..kernels.statistics import BackgroundStats
from ..tiling import grow_span
from .base import Detector


class NetworkArrays(NumpyArrays):
    """Host arrays for a network's input, carrying the model runtime bound to the run's device.

    Parameters
    ----------
    runtime : ModelRuntime
        Bound (:meth:`~hadinfer.runtimes.ModelRuntime.bind`); its device labels the run.
    evidence : ArrayLibrary, optional
        Where the input's local RX channels are computed (default: NumPy on the host).

    Attributes
    ----------
    evidence : ArrayLibrary
    """

    def __init__(self, runtime, evidence=None):
        super().__init__(device=runtime.device)
        self.runtime = runtime
        self.evidence = evidence if evidence is not None else NumpyArrays()
        self.name = self.evidence.name  # the run report's "arrays": where the evidence ran


def evidence_arrays(device: str):
    """The array library for a network's local evidence on ``device``: PyTorch on that GPU
    when the run is on CUDA and PyTorch sees it, else NumPy on the host (the network still
    runs where its runtime is bound; only this preparation stays on the host)."""
    if device == "cpu" or not device.startswith("cuda"):
        return NumpyArrays()
    from ..arrays import torch_sees_cuda

    if not torch_sees_cuda():
        return NumpyArrays()
    from ..arrays.torch_arrays import TorchArrays

    return TorchArrays(device)


class NetworkDetector(Detector):
    """Score tiles with a trained network run by a :class:`~hadinfer.runtimes.ModelRuntime`.

    The scene's own global statistics define the input (whitened principal components,
    global-RX and local-RX evidence: :mod:`hadinfer.models.input_policy`, read from the
    model's metadata), so one network serves any band count.  The score is
    ``softplus(logit) = -log(1 - p)``, the surprisal of "background" under the network's
    probability ``p``: monotone in the logit (same ranking, same AUC(D,F)), but
    background pixels sit near 0 instead of mid-range, which is what min–max normalised
    3-D ROC measures (AUC(F,tau), SNPR) reward.  NaN where invalid.

    Inputs are prepared on the host with NumPy; the runtime decides where the network
    runs, so ONNX Runtime on CUDA needs no PyTorch.  :meth:`arrays_for` binds the
    runtime to the run's device once, and the arrays it returns carry the bound runtime
    to :meth:`score`; the detector itself keeps the runtime as opened.

    Parameters
    ----------
    runtime : ModelRuntime
        An open model (:func:`hadinfer.runtimes.open_runtime`), bound to a device or not.
    name : str
        Registry name for reports (``general``, ``adapt``, ``model``).
    """

    @property
    def tile_parallel(self) -> bool:
        """ONNX Runtime: yes, one call per core, each on one thread (its session options);
        PyTorch and TensorRT manage their own threads or device: no."""
        return getattr(self.runtime, "name", None) == "onnxruntime"

    #: ONNX Runtime (and TensorRT) choose their convolution kernels and blocking by input
    #: shape, which moves the last bit of a score with the tile: a fixed grid of 256-pixel
    #: tiles (the CLI's default size) makes the map the same bits for any ``tile_size``.
    native_tile = 256
    #: Interior tiles of that grid share one input shape: on a GPU, up to four go to the
    #: runtime as one (4, C, h, w) batch (one call, one transfer each way); on the CPU they
    #: run one by one (:meth:`score_prepared`).  Inputs, not spectra, wait for the batch:
    #: 4 x 21 channels x 316 x 316 float32 is 34 MB.
    batch_tiles = 4

    def __init__(self, runtime, name: str = "model"):
        from ..models.input_policy import InputPolicy

        self.runtime = runtime
        self.name = name
        meta = runtime.metadata
        self.channels = meta["channels"]
        self.receptive_radius = meta["receptive_radius"]
        stored = meta.get("input_policy") or {}
        self.policy = (InputPolicy.from_metadata(stored, self.channels, where=runtime.path) if stored
                       else InputPolicy(self.channels - 1))

    @classmethod
    def from_torch(cls, model, metadata: dict | None = None, name: str = "model") -> "NetworkDetector":
        """A detector for a network in memory (e.g. straight after training), run by PyTorch.

        Parameters
        ----------
        model : AnomalyFCN
        metadata : dict, optional
            Checkpoint metadata (``input``: the input policy; ``provenance``).
        """
        from ..runtimes.torch_runtime import TorchRuntime

        return cls(TorchRuntime(model, metadata), name=name)

    @property
    def halo(self) -> int:
        """The network's receptive radius plus what its local evidence channels need."""
        return self.receptive_radius + self.policy.halo

    def tile_limits(self) -> tuple[int, int | None]:
        """Smallest read window and largest core the runtime's input profile allows.

        The network sees the core plus its receptive radius each side, widened inside
        the read window to the profile's minimum, so the core may be at most
        ``max_side - 2 * receptive_radius``.
        """
        profile = self.runtime.profile
        max_core = None if profile.max_side is None else profile.max_side - 2 * self.receptive_radius
        return profile.min_side, max_core

    def check_image(self, height: int, width: int) -> None:
        """Refuse a scene smaller than the runtime's smallest input (a TensorRT profile's minimum).

        Raises
        ------
        WindowTooLargeError
        """
        minimum, max_core = self.tile_limits()
        if min(height, width) < minimum:
            raise WindowTooLargeError(f"{self.runtime.path}: the engine takes inputs of at least {minimum} px a side; "
                                      f"the scene is {height}x{width} (rebuild it with hadinfer export --engine "
                                      "--min-tile 1, or use the ONNX model)")
        if max_core is not None and max_core < 1:
            raise WindowTooLargeError(f"{self.runtime.path}: the engine's largest input is smaller than the network's "
                                      "receptive field")

    def arrays_for(self, device: str = "auto") -> NetworkArrays:
        """Host arrays for input preparation, with the runtime bound to ``device`` (resolved once, here).

        Raises
        ------
        ParameterError
            A malformed device string.
        DeviceUnavailableError
            The runtime cannot use ``device``.
        ModelFileError
            The model cannot be loaded on that device.
        """
        runtime = self.runtime.bind(device)
        return NetworkArrays(runtime, evidence_arrays(runtime.device))

    def fit(self, stats: BackgroundStats) -> "NetworkDetector":
        """Whitening (and local evidence) from the scene's own statistics (the input policy)."""
        self.inputs_ = self.policy.fit(stats)
        self.compiled_ = self.inputs_.compiled  # for the run report
        return self

    def network_window(self, core, shape) -> tuple[slice, slice]:
        """Where the network's input lies in a read window of ``shape``.

        The core plus the receptive radius (clipped to the window), widened to the
        runtime's smallest input inside the window: widening adds context beyond the
        receptive field, so the core's scores do not change.
        """
        r, (minimum, _) = self.receptive_radius, self.tile_limits()
        spans = []
        for part, size in zip(core, shape):
            start, stop = grow_span(max(0, part.start - r), min(size, part.stop + r), minimum, 0, size)
            spans.append(slice(start, stop))
        return spans[0], spans[1]

    def score(self, cube, valid, core=None, arrays=None):
        """Scores of the core; the network runs where ``arrays`` (from :meth:`arrays_for`) binds it.

        Without ``arrays`` it runs on the CPU; other arrays name the device to bind to.
        """
        if not isinstance(arrays, NetworkArrays):
            arrays = self.arrays_for(arrays.device if arrays is not None else "cpu")
        return self.score_prepared([self.prepare(cube, valid, core, arrays)], arrays)[0]

    def prepare(self, cube, valid, core=None, arrays=None):
        """The network's input for a tile: ``(input (C, h, w) float32, core within it, core validity)``.

        Its local evidence is computed with ``arrays.evidence`` (PyTorch on the network's
        GPU when there is one, :func:`evidence_arrays`).
        """
        height, width = cube.shape[:2]
        rows, cols = core if core is not None else (slice(0, height), slice(0, width))
        # The evidence channels need their own halo around the network's window, which the
        # rest of the read window provides.
        region = self.network_window((rows, cols), (height, width))
        evidence = arrays.evidence if isinstance(arrays, NetworkArrays) else None
        features = np.ascontiguousarray(self.inputs_.features(cube, valid, region, evidence).transpose(2, 0, 1),
                                        dtype=np.float32)
        inner = (slice(rows.start - region[0].start, rows.stop - region[0].start),
                 slice(cols.start - region[1].start, cols.stop - region[1].start))
        return features, inner, valid[rows, cols]

    def score_prepared(self, items, arrays=None):
        """Scores of prepared tiles; on a GPU, consecutive inputs of one shape go to the runtime as
        one batch (up to its profile's largest).

        On the CPU each tile runs alone: ONNX Runtime's CPU kernels round a sample inside a
        batch differently (2.8e-6 relative, a third of the pixels of a 600x1100 scene) and
        batching gained nothing there (2.89 s against 2.92 s), so the CPU map stays the
        tile-by-tile one.
        """
        if not isinstance(arrays, NetworkArrays):
            arrays = self.arrays_for(arrays.device if arrays is not None else "cpu")
        largest = 1 if arrays.device == "cpu" else arrays.runtime.profile.max_batch or len(items)
        logits, start = [], 0
        while start < len(items):
            stop = start + 1
            while (stop < len(items) and stop - start < largest
                   and items[stop][0].shape == items[start][0].shape):
                stop += 1
            batch = np.stack([features for features, _, _ in items[start:stop]])
            logits += list(arrays.runtime.run(batch))
            start = stop
        maps = []
        for (_, inner, valid_core), logit in zip(items, logits):
            out = np.logaddexp(0.0, np.asarray(logit[inner], dtype=np.float64)).astype(np.float32)
            out[~valid_core] = np.nan
            maps.append(out)
        return maps

    @property
    def metadata(self) -> dict:
        """The model's metadata (input policy, network, provenance, precision)."""
        return self.runtime.metadata

    def params(self) -> dict:
        return self.runtime.describe()
