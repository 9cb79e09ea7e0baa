"""PNG figures: ROC curves and quicklooks of score maps.

matplotlib is optional (``pip install 'hadinfer[plot]'``) and imported inside the
functions.  Figures are built from :class:`matplotlib.figure.Figure` with an Agg
canvas, never through ``pyplot``, so nothing here selects a backend or touches
matplotlib's global state.  Neither function checks whether ``path`` exists:
the caller decides about overwriting.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import AllNodataError, MissingDependencyError, OutputPathError, ParameterError
from .metrics import finite_and_valid

__all__ = ["save_roc_png", "save_quicklook_png"]

#: Longest side, in pixels, of a score map once decimated for a quicklook.
QUICKLOOK_MAX_SIDE = 2000
#: A ROC curve longer than this is thinned before plotting (see ``_thin_curve``).
_ROC_MAX_POINTS = 50_000
#: Thinning tolerance in rate units: far below one pixel of the saved figure.
_ROC_TOLERANCE = 1e-4
_DPI = 150


def _matplotlib():
    """Import the matplotlib pieces needed, or say which extra to install."""
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            "matplotlib is needed for PNG output: pip install 'hadinfer[plot]'") from exc
    return Figure, FigureCanvasAgg, colormaps


def _save(fig, canvas_class, path, dpi: float = _DPI) -> None:
    """Render ``fig`` to ``path`` as PNG, mapping OS failures into the hierarchy."""
    canvas_class(fig)
    try:
        fig.savefig(os.fspath(path), format="png", dpi=dpi)
    except OSError as exc:
        raise OutputPathError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from exc


def _thin_curve(fpr: np.ndarray, tpr: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Drop ROC vertices that no figure could show.

    The plane is cut into ``tolerance``-sized cells; of each run of consecutive
    vertices in one cell only the first and last are kept.  Both rates are
    monotone, so a run never comes back to a cell, at most ``2 / tolerance``
    cells are visited, and the thinned curve stays within ``tolerance`` of the
    exact one.
    """
    cell = np.floor(fpr / tolerance) * (1.0 / tolerance + 1.0) + np.floor(tpr / tolerance)
    change = np.flatnonzero(np.diff(cell) != 0)
    keep = np.unique(np.concatenate(([0, fpr.size - 1], change, change + 1)))
    return fpr[keep], tpr[keep]


def save_roc_png(fpr, tpr, path, *, title: str | None = None, auc: float | None = None) -> None:
    """Save a ROC curve (P_D against P_F) as a PNG.

    Parameters
    ----------
    fpr, tpr : array_like of float, shape (n,)
        False-alarm and detection rates in [0, 1], e.g. from
        :func:`hadinfer.metrics.roc_curve`; ``n >= 2``.
    path : str or os.PathLike
        Output file.  An existing file is replaced; the folder must exist.
    title : str, optional
        Figure title.
    auc : float, optional
        Area to show in the legend.  Default: the trapezoid area under
        ``(fpr, tpr)``, which equals the exact AUC when the points come from
        :func:`~hadinfer.metrics.roc_curve`.

    Raises
    ------
    ParameterError
        If ``fpr`` and ``tpr`` are not 1-D of the same length ``>= 2``, or hold
        non-finite values.
    MissingDependencyError
        If matplotlib is not installed.
    OutputPathError
        If the PNG cannot be written.

    Notes
    -----
    A curve from tens of millions of distinct scores is thinned to vertices
    at least 1e-4 apart (well under a pixel) before plotting; the legend's
    default AUC is taken from the full curve.
    """
    fpr = np.asarray(fpr, dtype=np.float64)
    tpr = np.asarray(tpr, dtype=np.float64)
    if fpr.ndim != 1 or fpr.size < 2:
        raise ParameterError(f"fpr: expected a 1-D array of at least 2 points, got shape {fpr.shape}")
    if tpr.shape != fpr.shape:
        raise ParameterError(f"tpr: shape {tpr.shape} does not match fpr shape {fpr.shape}")
    if not (np.isfinite(fpr).all() and np.isfinite(tpr).all()):
        raise ParameterError("fpr, tpr: contain non-finite values")
    Figure, FigureCanvasAgg, _ = _matplotlib()

    if auc is None:
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
    if fpr.size > _ROC_MAX_POINTS:
        fpr, tpr = _thin_curve(fpr, tpr, _ROC_TOLERANCE)

    fig = Figure(figsize=(5.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", linewidth=0.8, color="0.6", label="chance")
    ax.plot(fpr, tpr, linewidth=1.5, color="C0", label=f"AUC = {auc:.4f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.005)
    ax.set_aspect("equal")
    ax.set_xlabel("False-alarm rate $P_F$")
    ax.set_ylabel("Detection rate $P_D$")
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    _save(fig, FigureCanvasAgg, path)


def _block_max(score_map: np.ndarray, shown: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Max-pool a map over ``step x step`` blocks, ignoring pixels not shown.

    Returns the pooled map (float64) and whether each block had a shown pixel.
    Works a band of block rows at a time so no full-size copy is made.
    """
    height, width = score_map.shape
    rows, cols = -(-height // step), -(-width // step)
    pooled = np.full((rows, cols), -np.inf)
    band = max(1, 4_000_000 // (step * step * cols))  # block rows per pass
    for top in range(0, rows, band):
        bottom = min(rows, top + band)
        chunk = np.where(shown[top * step:bottom * step], score_map[top * step:bottom * step], -np.inf)
        padded = np.full(((bottom - top) * step, cols * step), -np.inf)
        padded[:chunk.shape[0], :width] = chunk
        pooled[top:bottom] = padded.reshape(bottom - top, step, cols, step).max(axis=(1, 3))
    return pooled, pooled > -np.inf


def save_quicklook_png(score_map, path, *, valid=None, title: str | None = None) -> None:
    """Save a 2-D score map as a false-colour PNG with a colorbar.

    Parameters
    ----------
    score_map : array_like of float, shape (H, W)
        Scores, higher = more anomalous.
    path : str or os.PathLike
        Output file.  An existing file is replaced; the folder must exist.
    valid : array_like of bool, shape (H, W), optional
        ``False`` marks pixels to leave out (nodata).  Non-finite scores are
        always left out.  Left-out pixels are drawn grey.
    title : str, optional
        Figure title.

    Raises
    ------
    ParameterError
        If ``score_map`` is not 2-D or ``valid`` is not a boolean mask of the
        same shape.
    AllNodataError
        If no pixel is valid with a finite score.
    MissingDependencyError
        If matplotlib is not installed.
    OutputPathError
        If the PNG cannot be written.

    Notes
    -----
    A map longer than ``QUICKLOOK_MAX_SIDE`` (2000) pixels on either side is
    reduced by an integer factor with a block *maximum* rather than by striding,
    so a one-pixel anomaly stays visible; a block is grey only if none of its
    pixels is valid.  The axes keep the original pixel coordinates.  Colours
    use ``viridis`` (perceptually uniform) stretched linearly between the 2nd
    and 99.8th percentiles of the valid displayed values; values beyond are
    clipped, as the colorbar's pointed ends show.
    """
    score_map = np.asarray(score_map)
    if score_map.ndim != 2:
        raise ParameterError(f"score_map: expected a 2-D array, got shape {score_map.shape}")
    if not np.issubdtype(score_map.dtype, np.number):
        raise ParameterError(f"score_map: expected a numeric array, got dtype {score_map.dtype}")
    shown = finite_and_valid(score_map, valid, "score_map")
    if not shown.any():
        raise AllNodataError("score_map: no valid pixel with a finite score to show")
    Figure, FigureCanvasAgg, colormaps = _matplotlib()

    height, width = score_map.shape
    step = math.ceil(max(height, width) / QUICKLOOK_MAX_SIDE)
    if step > 1:
        image, image_shown = _block_max(score_map, shown, step)
    else:
        image, image_shown = score_map.astype(np.float64), shown
    low, high = np.percentile(image[image_shown], [2.0, 99.8])
    if not high > low:  # a constant map: any non-empty range shows it
        low, high = low - 0.5, high + 0.5

    # The image's long side gets 7 inches; the colorbar and labels get the margin.
    long_side = 7.0
    box_w = long_side * min(1.0, max(0.3, width / height))
    box_h = long_side * min(1.0, max(0.3, height / width))
    fig = Figure(figsize=(box_w + 1.6, box_h + 0.9), layout="constrained")
    ax = fig.add_subplot()
    cmap = colormaps["viridis"].with_extremes(bad="0.55")
    extent = (-0.5, image.shape[1] * step - 0.5, image.shape[0] * step - 0.5, -0.5)
    artist = ax.imshow(np.ma.masked_array(image, mask=~image_shown), cmap=cmap, vmin=low, vmax=high,
                       interpolation="antialiased", extent=extent, aspect="equal")
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    label = "score" if step == 1 else f"score (max over {step}x{step} blocks)"
    fig.colorbar(artist, ax=ax, extend="both", shrink=0.85, label=label)
    if title:
        ax.set_title(title)
    # About one figure pixel per map pixel (within 100-300 dpi), so a decimated
    # map is not decimated a second time by the renderer.
    _save(fig, FigureCanvasAgg, path, dpi=min(300.0, max(100.0, max(image.shape) / long_side)))
