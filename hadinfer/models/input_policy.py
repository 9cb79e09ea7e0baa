"""How any sensor's spectra become network input (NumPy only; shared by training and runtime).

Two policies exist:

- ``pca-whiten+rx`` (``general-v2`` and older checkpoints): the scene's leading whitened
  principal components and the global RX score divided by the rank.
- ``pca-whiten+rx+lrx``: the same, plus one channel per local RX window (the score divided
  by its component count), so the network sees global and local evidence together and can
  learn from the scene which to trust.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arrays import NumpyArrays
from ..errors import ModelFileError
from ..kernels.compiled import compiled_pays
from ..kernels.ring_sums import REGULARIZATION, ring_rx
from ..kernels.statistics import BackgroundStats
from ..kernels.triangular_energy import energy_factor_for
from ..kernels.whitened_energy import energy_and_components_on
from ..kernels.whitening import pca_whitening

POLICY = "pca-whiten+rx"
POLICY_EVIDENCE = "pca-whiten+rx+lrx"


@dataclass(frozen=True)
class InputPolicy:
    """Which channels a network reads.

    Attributes
    ----------
    components : int
        Leading whitened principal components (zero-padded when a scene has fewer).
    lrx_windows : tuple of (int, int)
        ``(inner, outer)`` windows of the local RX evidence channels; empty for none.
    lrx_components : int
        Global principal components the local RX channels use.
    """

    components: int = 16
    lrx_windows: tuple[tuple[int, int], ...] = ()
    lrx_components: int = 10

    @property
    def name(self) -> str:
        return POLICY_EVIDENCE if self.lrx_windows else POLICY

    @property
    def channels(self) -> int:
        """Components, the global RX channel, then one channel per local window."""
        return self.components + 1 + len(self.lrx_windows)

    @property
    def halo(self) -> int:
        """Context pixels the local evidence needs around each pixel (beyond the network's)."""
        return max((outer // 2 for _, outer in self.lrx_windows), default=0)

    def metadata(self) -> dict:
        """The policy as stored with a model."""
        meta = {"policy": self.name, "components": self.components, "channels": self.channels, "band_count": "any",
                "normalization": "z = (x - scene_mean) @ V diag(1/sqrt(lambda)) over all non-degenerate components "
                                 "(signs fixed); channels = first `components` of z, then mean(z^2) (global RX / "
                                 "rank)" + (", then local RX / lrx_components per window" if self.lrx_windows else "")
                                 + "; the network applies asinh"}
        if self.lrx_windows:
            meta |= {"lrx_windows": [list(w) for w in self.lrx_windows], "lrx_components": self.lrx_components}
        return meta

    @classmethod
    def from_metadata(cls, meta: dict, channels: int, *, where: str = "model") -> "InputPolicy":
        """Rebuild from stored metadata, checking it against the network's channel count.

        Raises
        ------
        ModelFileError
            Unknown policy, or channels that do not add up.
        """
        try:
            if meta.get("policy") == POLICY:
                policy = cls(components=int(meta["components"]))
            elif meta.get("policy") == POLICY_EVIDENCE:
                policy = cls(int(meta["components"]), tuple((int(i), int(o)) for i, o in meta["lrx_windows"]),
                             int(meta["lrx_components"]))
            else:
                raise ModelFileError(f"{where}: unknown input policy {meta.get('policy')!r}")
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: malformed input policy {meta!r}") from exc
        if policy.channels != channels or int(meta.get("channels", channels)) != channels:
            raise ModelFileError(f"{where}: input policy gives {policy.channels} channels, network expects {channels}")
        return policy

    def fit(self, stats: BackgroundStats) -> "SceneInputs":
        """This policy fitted to one scene's global statistics."""
        return SceneInputs(self, stats)


class SceneInputs:
    """An :class:`InputPolicy` fitted to a scene: turns tiles into network channels.

    Parameters
    ----------
    policy : InputPolicy
    stats : BackgroundStats
        The scene's global statistics.

    Notes
    -----
    :meth:`features` is the runtime's hot path (a few times the network's own cost on a
    CPU), so it shares work across channels: spectra are centred once per block of rows,
    the pointwise channels come from one float32 projection, and every local RX channel
    comes from one set of integral images (:func:`~hadinfer.kernels.ring_sums.ring_rx`)
    over the leading components, which are the same for every window.
    """

    def __init__(self, policy: InputPolicy, stats: BackgroundStats):
        self.policy = policy
        self.mean, self.projection = pca_whitening(stats, None)
        self._projection32 = self.projection.astype(np.float32)
        self._energy_factor32 = energy_factor_for(self._projection32, stats.count_)  # None: the dense product
        # LocalRX.fit keeps the leading lrx_components columns of this same whitening.
        self._local_projection32 = np.ascontiguousarray(self._projection32[:, :policy.lrx_components])
        #: Whether the ring kernel runs compiled, for the whole scene (:func:`~hadinfer.kernels.compiled.compiled_pays`).
        self.compiled = compiled_pays(stats.pixels_ * len(policy.lrx_windows), same_bits=True)

    def pointwise(self, spectra: np.ndarray) -> np.ndarray:
        """(..., B) spectra -> (..., components + 1): the channels that need no neighbours."""
        return network_input(spectra, self.mean, self.projection, self.policy.components)

    def features(self, cube: np.ndarray, valid: np.ndarray, region=None, arrays=None) -> np.ndarray:
        """Network channels of ``region`` of a window.

        Parameters
        ----------
        cube : ndarray, shape (h, w, B)
            Raw spectra, invalid pixels zeroed; for local channels it must reach
            ``policy.halo`` pixels beyond ``region`` (or the image border).
        valid : ndarray of bool, shape (h, w)
        region : (slice, slice), optional
            Default the whole window.
        arrays : ArrayLibrary, optional
            Where the projections and the local RX channels (the costly part) are
            computed: default NumPy on the host; PyTorch arrays on the network's GPU keep
            that work there, and only the raw window travels (in its own dtype).

        Returns
        -------
        ndarray of float32, shape (region rows, region cols, channels)
            Zero on invalid pixels.  A local channel whose ring holds too few valid pixels
            takes the global RX channel's value.  The spectra are centred and projected in
            float32 (as :class:`~hadinfer.detectors.GlobalRX` scores by default), for the
            pointwise channels and for the components the local ones are built on; the
            local statistics are exact sums of those, solved in float64 and then rounded.
        """
        rows, cols = region if region is not None else (slice(0, cube.shape[0]), slice(0, cube.shape[1]))
        height, width = rows.stop - rows.start, cols.stop - cols.start
        components = self.policy.components
        out = np.zeros((height, width, self.policy.channels), dtype=np.float32)
        windows = self.policy.lrx_windows
        arrays = NumpyArrays() if arrays is None else arrays
        # The pointwise channels go into ``out``; ``local`` is the window's leading components
        # (halo included), float64 in the array library, for the local channels.
        local = self._project(arrays, cube, (rows, cols), out, bool(windows))
        grx = out[..., components]
        if windows:
            k = self._local_projection32.shape[1]
            mask = arrays.asarray(valid.astype(np.float64))
            local *= mask[:, :, None]  # ring sums skip invalid pixels by their zero weight and value
            maps = ring_rx(arrays, local, mask, valid, windows, REGULARIZATION, (rows, cols), compiled=self.compiled)
            for channel, scores in enumerate(maps, start=components + 1):
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = scores / np.float32(k)
                out[..., channel] = np.where(np.isfinite(ratio), ratio, grx)
        out[~valid[rows, cols]] = 0.0
        return out

    def _project(self, arrays, cube, region, out, local_wanted):
        """:meth:`features`' projections, on the array library's device; returns the local components there."""
        rows, cols = region
        # One float32 product of the whole window with every direction serves both kinds of
        # channel: the local ones need the leading components of every pixel of the window
        # (halo included), the pointwise ones the leading components and the energy of the
        # region's pixels.  Each pixel's components come from the same product whichever tile
        # it lies in, so the map stays tile-invariant.
        rank = self._projection32.shape[1]
        local = self._local_projection32.shape[1] if local_wanted else 0
        leading = min(self.policy.components, rank)
        energy, z = energy_and_components_on(arrays, cube, self.mean, self._projection32, max(leading, local), region,
                                            factor=self._energy_factor32)
        out[..., :leading] = arrays.to_numpy(z[rows, cols, :leading])
        out[..., self.policy.components] = energy / np.float32(max(rank, 1))
        if not local_wanted:
            return None
        return z if local == z.shape[2] else arrays.contiguous(z[..., :local])


def fit_whitening(stats: BackgroundStats) -> tuple[np.ndarray, np.ndarray]:
    """The scene's mean and full whitening projection (B, rank)."""
    return pca_whitening(stats, None)


def network_input(spectra: np.ndarray, mean: np.ndarray, projection: np.ndarray, components: int) -> np.ndarray:
    """(..., B) spectra -> (..., components + 1) pointwise network channels.

    The first ``components`` channels are the leading whitened principal components
    (zero-padded if the scene has fewer); the last is the global RX score divided by the
    rank, i.e. the mean squared whitened deviation over *all* components, so the network
    keeps what the minor components say without a channel per band.
    """
    z = (spectra - mean) @ projection
    rank = max(projection.shape[1], 1)
    leading = z[..., :components]
    if leading.shape[-1] < components:
        pad = np.zeros(leading.shape[:-1] + (components - leading.shape[-1],))
        leading = np.concatenate([leading, pad], axis=-1)
    energy = np.einsum("...i,...i->...", z, z)[..., None] / rank
    return np.concatenate([leading, energy], axis=-1)
