"""Spectra centred on a mean, a block of rows at a time, in the roundings every pass shares.

The statistics pass (:mod:`~hadinfer.kernels.statistics`), global RX's energy
(:mod:`~hadinfer.kernels.whitened_energy`) and the ring sums
(:mod:`~hadinfer.kernels.ring_sums`) all centre windows here, so the host and a device,
and every tile size, round the same way.
"""

from __future__ import annotations

import numpy as np

#: Rows per chunk.  Windows are processed a chunk at a time so that the centred copy
#: (4096 x 200 bands x 4 B = 3.3 MB in float32) is still in cache when BLAS reads it, and
#: no scratch array as large as the window is allocated: fresh large arrays cost page
#: faults on every tile, which on a small VM took longer than the arithmetic.
CHUNK_ROWS = 4096

#: Spreads (per band) from 2**-30 to 2**30 go through float32 arithmetic as they are:
#: their squares, summed over thousands of pixels, stay far from float32's overflow
#: (2**128) and their smallest meaningful deviations' squares above its subnormals
#: (2**-126).  Outside that range (a scene multiplied by 1e30 or 1e-30 overflowed to inf
#: or underflowed to 0, issue 20) a band is scaled by a power of two first, which is
#: exact and undone exactly in float64; inside it nothing changes, bit for bit.
_SAFE_EXPONENT = 30


def float32_scale(spread: np.ndarray) -> np.ndarray | None:
    """Powers of two that bring each band's spread near 1 before float32 arithmetic.

    Parameters
    ----------
    spread : ndarray of float64, shape (B,)
        A typical magnitude of each band's centred values (largest deviation, or
        standard deviation); 0 or non-finite entries are left unscaled.

    Returns
    -------
    ndarray of float64, shape (B,), or None
        ``scale`` with ``spread * scale`` in [0.5, 1) for bands whose spread lies
        outside [2**-30, 2**30], 1 for the others; None when every band is 1 (callers
        then skip the multiplication, so ordinary scenes keep their bits).

    Examples
    --------
    >>> float32_scale(np.array([1.0, 1e3])) is None
    True
    >>> float32_scale(np.array([1e30, 1.0, 1e-30])) * np.array([1e30, 1.0, 1e-30])
    array([0.78886091, 1.        , 0.6338253 ])
    """
    spread = np.asarray(spread, dtype=np.float64)
    exponent = np.frexp(np.where(np.isfinite(spread), spread, 0.0))[1]  # spread < 2**exponent
    outside = (spread > 0) & np.isfinite(spread) & (np.abs(exponent) > _SAFE_EXPONENT)
    if not outside.any():
        return None
    return np.ldexp(1.0, np.where(outside, -exponent, 0))



def exact_in_float32(dtype) -> bool:
    """Whether every value of ``dtype`` is a float32 (8- and 16-bit integers, float32)."""
    dtype = np.dtype(dtype)
    return dtype == np.float32 or (dtype.kind in "iu" and dtype.itemsize <= 2)


def chunk_buffer(pixels: np.ndarray, rows: int, dtype, columns: int | None = None) -> np.ndarray:
    """A (rows, columns) scratch array laid out like the (n, bands) ``pixels``.

    Scenes read band by band (rasterio, band-interleaved files) arrive band-major: a
    row-major buffer would turn every chunk copy into a transpose, ten times slower.
    ``columns`` defaults to the band count.
    """
    order = "F" if pixels.strides[0] < pixels.strides[1] else "C"
    return np.empty((rows, pixels.shape[1] if columns is None else columns), dtype=dtype, order=order)


def centred_blocks(cube: np.ndarray, mean: np.ndarray, dtype=np.float32, scale: np.ndarray | None = None,
                   block_pixels: int = CHUNK_ROWS):
    """Yield ``(top, rows, centred)`` for blocks of rows of a window: ``(x - mean) * scale`` per pixel.

    The subtraction runs in float64 and is rounded once to ``dtype`` (or, for float32
    output from windows whose values are exact in float32, such as int16, runs in float32
    with two roundings and no float64 pass), into buffers that are reused from block to
    block and laid out like ``cube`` (band-major or pixel-major), so any window, a
    sub-window view included, is centred without a transposing copy and without ever
    being widened as a whole.

    Parameters
    ----------
    cube : ndarray, shape (h, w, B)
        Any real dtype.
    mean : ndarray of float64, shape (B,)
    dtype : numpy dtype
        Of the centred spectra.
    scale : ndarray of float64, shape (B,), optional
        Powers of two per band (:func:`float32_scale`), applied after the subtraction
        and before the rounding to ``dtype``, so it is exact; default none.
    block_pixels : int
        About how many pixels a block holds (whole rows, at least one); the blocks'
        values do not depend on it.

    Yields
    ------
    top : int
        First row of the block.
    rows : int
        Rows in the block.
    centred : ndarray of ``dtype``, shape (rows * w, B)
        Valid only until the next block is yielded.
    """
    height, width, bands = cube.shape
    step = max(1, block_pixels // max(width, 1))
    single = np.dtype(dtype) == np.float32
    # A scale beyond float32's range (data near its subnormals) is applied in float64.
    direct = single and exact_in_float32(cube.dtype) and scale is None
    wide = None if direct else _block_buffer(cube, step, np.float64)
    narrow = _block_buffer(cube, step, dtype) if single else None
    if direct:  # the mean in two float32 parts, so no offset is left behind
        high, low = _float32_parts(mean)
    for top in range(0, height, step):
        block = cube[top:top + step]
        rows = block.shape[0]
        if direct:  # exact conversion, then x - mean with two roundings, no float64 pass
            centred = np.subtract(block, high, out=narrow[:rows])  # converted inside the ufunc's loop
            centred -= low
        else:
            centred = np.subtract(block, mean, out=wide[:rows])
            if scale is not None:
                centred *= scale
            if narrow is not None:
                narrow[:rows] = centred
                centred = narrow[:rows]
        yield top, rows, centred.reshape(rows * width, bands)  # a view: rows and columns are adjacent


def centred_float32(xp, cube: np.ndarray, mean: np.ndarray):
    """A whole window centred as :func:`centred_blocks` centres it in float32, on ``xp``'s device.

    The same roundings, so the host and a device agree to the bit here: windows whose
    values are exact in float32 (int16, float32) travel in their own dtype, are converted
    on the device and have the mean taken off in two float32 parts; others are centred in
    float64 and rounded once.  (The host streams blocks of rows to stay in cache; a GPU
    wants the whole window in one call.)

    Parameters
    ----------
    xp : ArrayLibrary
    cube : ndarray, shape (h, w, B)
    mean : ndarray of float64, shape (B,)

    Returns
    -------
    array of float32, shape (h * w, B)
    """
    pixels = cube.reshape(-1, cube.shape[2])
    if exact_in_float32(cube.dtype):
        high, low = _float32_parts(mean)
        centred = xp.asarray(pixels, dtype=np.float32) - xp.asarray(high, dtype=np.float32)
        return centred - xp.asarray(low, dtype=np.float32)
    return xp.single(xp.asarray(pixels) - xp.asarray(mean))


def _float32_parts(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mean`` as ``high + low`` in float32: subtracting both leaves no offset float32 would round away."""
    high = mean.astype(np.float32)
    return high, (mean - high).astype(np.float32)


def _block_buffer(cube: np.ndarray, rows: int, dtype) -> np.ndarray:
    """A (rows, w, B) scratch block laid out like ``cube`` whose (rows * w, B) reshape is a view."""
    _, width, bands = cube.shape
    if cube.strides[2] > cube.strides[1]:  # band-major, as rasterio reads
        return np.empty((bands, rows, width), dtype=dtype).transpose(1, 2, 0)
    return np.empty((rows, width, bands), dtype=dtype)
