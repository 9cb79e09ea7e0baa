"""Global RX's per-pixel energy, ``||(x - mean) @ P||^2``, streamed a few rows at a time."""

from __future__ import annotations

import numpy as np

from ..arrays import NumpyArrays
from .centring import centred_blocks, centred_float32
from .triangular_energy import triangular_energy


def whitened_energy(cube: np.ndarray, mean: np.ndarray, projection: np.ndarray,
                    scale: np.ndarray | None = None, factor: np.ndarray | None = None) -> np.ndarray:
    """``||(x - mean) @ projection||^2`` per pixel, in the projection's dtype, a few rows at a time.

    Each block of rows is centred (:func:`~hadinfer.kernels.centring.centred_blocks`),
    projected and reduced while still in cache: no array as large as the window is
    allocated and the window is never widened.  The energy half of
    :func:`energy_and_components`, the same bits.

    Parameters
    ----------
    cube : ndarray, shape (h, w, B)
        Any real dtype.
    mean : ndarray of float64, shape (B,)
    projection : ndarray, shape (B, k)
        float32 for single-precision scoring.
    scale : ndarray of float64, shape (B,), optional
        Powers of two the centred spectra are multiplied by first (``projection`` is
        then already divided by them); see :attr:`GlobalRX.scale_`.
    factor : ndarray, shape (B, B), optional
        ``energy_factor(projection)`` (:mod:`.triangular_energy`): the energy then comes
        from the triangular product, without it from the dense one
        (:func:`~.triangular_energy.energy_factor_for` says which pays).

    Returns
    -------
    ndarray of float32, shape (h, w)
    """
    return energy_and_components(cube, mean, projection, 0, scale=scale, factor=factor)[0]


def energy_and_components(cube: np.ndarray, mean: np.ndarray, projection: np.ndarray, n_components: int,
                          core=None, scale: np.ndarray | None = None,
                          factor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Global RX's energy on a window's core and its leading whitened components everywhere, from one centring.

    ``projection`` holds the scene's whitened principal directions, leading first, so the
    first ``n_components`` columns of ``(x - mean) @ projection`` are the components local
    RX rings (:func:`~hadinfer.kernels.ring_sums.whitened_components`, up to float32
    rounding) and the squared norm of all of them is global RX.  The fusion needs both,
    from one float32 centring per block of rows instead of a float32 pass for the energy
    and a float64 pass for the components (on a 296 x 296 x 200 int16 window the float64
    pass alone took a third of the tile's time).  Without ``factor``, one dense product
    gives both; with it, a narrow product gives the components (every pixel) and the
    triangular product the energy (the core's rows only, :mod:`.triangular_energy`): such
    a window took 86 ms with the one and 60 with the other (one thread, 2026-12-07).
    Each pixel goes through the same products whatever the rows around it, so a pixel's
    bits do not depend on where the tile's core lies.

    Parameters
    ----------
    cube : ndarray, shape (h, w, B)
    mean : ndarray of float64, shape (B,)
    projection : ndarray of float32, shape (B, k)
        Whitening directions, leading first (already divided by ``scale``, if any).
    n_components : int
        Leading columns returned as components (at most k).
    core : (slice, slice), optional
        Where the energy is wanted; default the whole window.
    scale : ndarray of float64, shape (B,), optional
        See :func:`whitened_energy`.
    factor : ndarray, shape (B, B), optional
        See :func:`whitened_energy`.

    Returns
    -------
    energy : ndarray of float32, shape of the core
    components : ndarray of float64, shape (h, w, n_components)
        Not masked: invalid pixels hold whatever their spectra give.
    """
    height, width, _ = cube.shape
    rows, cols = core if core is not None else (slice(0, height), slice(0, width))
    # The triangular path's narrow product for the components (the dense one takes them from its own).
    leading = None if factor is None else np.ascontiguousarray(projection[:, :n_components])
    energy = np.empty((rows.stop - rows.start, cols.stop - cols.start), dtype=np.float32)
    components = np.empty((height, width, n_components))
    for top, count, centred in centred_blocks(cube, mean, projection.dtype, scale):
        lo, hi = max(top, rows.start), min(top + count, rows.stop)
        if factor is None:  # one dense product for every pixel, its norms on the core's rows
            whitened = (centred @ projection).reshape(count, width, projection.shape[1])
            components[top:top + count] = whitened[:, :, :n_components]
            if lo < hi:  # whole rows, as whitened_energy reduces them: a pixel's sum never depends on the core
                part = whitened[lo - top:hi - top].reshape((hi - lo) * width, whitened.shape[2])
                energy[lo - rows.start:hi - rows.start] = np.einsum("ij,ij->i", part, part).reshape(hi - lo, width)[:, cols]
            continue
        if n_components:  # before the energy, which overwrites the centred block
            components[top:top + count] = (centred @ leading).reshape(count, width, n_components)
        if lo < hi:  # whole rows of the core: the halo's energy is never wanted
            part = centred[(lo - top) * width:(hi - top) * width]
            energy[lo - rows.start:hi - rows.start] = triangular_energy(part, factor).reshape(hi - lo, width)[:, cols]
    return energy, components


def energy_and_components_on(xp, cube: np.ndarray, mean: np.ndarray, projection: np.ndarray, n_components: int,
                             core=None, scale: np.ndarray | None = None,
                             factor: np.ndarray | None = None) -> tuple[np.ndarray, object]:
    """:func:`energy_and_components` on the array library ``xp``'s device.

    NumPy streams blocks of rows on the host (``factor`` is used there only); another
    library (PyTorch, on a GPU) takes the whole window in one dense product, centred with
    the host's float32 roundings (:func:`~hadinfer.kernels.centring.centred_float32`),
    and only the raw window travels.

    Returns
    -------
    energy : ndarray of float32, shape of the core (on the host)
    components : array of float64, shape (h, w, n_components), in ``xp``
    """
    if isinstance(xp, NumpyArrays):
        return energy_and_components(cube, mean, projection, n_components, core, scale, factor)
    height, width, bands = cube.shape
    if scale is None:
        centred = centred_float32(xp, cube, mean)
    else:
        centred = xp.single((xp.asarray(cube.reshape(-1, bands)) - xp.asarray(mean)) * xp.asarray(scale))
    whitened = (centred @ xp.asarray(projection, dtype=np.float32)).reshape(height, width, projection.shape[1])
    rows, cols = core if core is not None else (slice(0, height), slice(0, width))
    part = whitened[rows, cols]
    energy = xp.to_numpy(xp.sum(part * part, axis=2)).astype(np.float32)
    return energy, xp.double(whitened[:, :, :n_components])
