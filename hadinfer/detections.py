"""From an anomaly map to vector detections: a threshold, connected regions, polygons."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import rasterio.features
from affine import Affine

from .errors import MissingDependencyError, ParameterError
from .io.atomic import atomic_output

#: Vector formats by extension (GeoJSON is written without any extra).
FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


def chi2_isf(pfa: float, dof: int) -> float:
    """Score above which a chi-square(``dof``) background pixel falls with probability ``pfa``.

    SciPy's exact quantile when SciPy is installed (extra ``mat``); otherwise the
    Wilson–Hilferty cube-root approximation, within about 1 % for ``dof >= 10``.
    """
    try:
        from scipy.stats import chi2
    except ImportError:
        z = NormalDist().inv_cdf(1.0 - pfa)
        c = 2.0 / (9.0 * dof)
        return float(dof * (1.0 - c + z * np.sqrt(c)) ** 3)
    return float(chi2.isf(pfa, dof))


def detection_threshold(scores: np.ndarray, *, pfa: float | None = None, threshold: float | None = None,
                        chi2_dof: int | None = None) -> float:
    """The score threshold for detections.

    Parameters
    ----------
    scores : ndarray, shape (H, W)
        The map; NaN where not scored.
    pfa : float, optional
        False-alarm rate in (0, 1): the chi-square quantile with ``chi2_dof`` degrees of
        freedom when given (global RX: its rank), else the map's empirical
        ``1 - pfa`` quantile (the background dominates every real map).
    threshold : float, optional
        An absolute threshold instead.

    Raises
    ------
    ParameterError
        Neither or both given, or ``pfa`` outside (0, 1).
    """
    if (pfa is None) == (threshold is None):
        raise ParameterError("detections: give exactly one of --pfa and --threshold")
    if threshold is not None:
        return float(threshold)
    if not 0.0 < pfa < 1.0:
        raise ParameterError(f"--pfa: expected a rate in (0, 1), got {pfa}")
    if chi2_dof:
        return chi2_isf(pfa, chi2_dof)
    finite = scores[np.isfinite(scores)]
    return float(np.quantile(finite, 1.0 - pfa)) if finite.size else float("inf")


@dataclass
class Detection:
    """One connected region above the threshold."""

    geometry: dict
    pixels: int
    max_score: float
    mean_score: float
    area: float
    centroid_x: float
    centroid_y: float


def find_detections(scores: np.ndarray, transform: Affine, threshold: float) -> list[Detection]:
    """Connected regions (8-connected) of pixels scoring above ``threshold``, as polygons.

    Polygons come from :func:`rasterio.features.shapes` in the map's coordinates; pixel
    membership is rasterized back from them, so each region's statistics cover exactly
    the pixels its polygon outlines.

    Parameters
    ----------
    scores : ndarray, shape (H, W)
    transform : affine.Affine
        The map's pixel-to-CRS transform.
    threshold : float

    Returns
    -------
    list of Detection
        Strongest first.  ``area`` is in CRS units squared (pixels when not georeferenced).
    """
    above = np.isfinite(scores) & (scores > threshold)
    if not above.any():
        return []
    polygons = [geom for geom, _ in rasterio.features.shapes(above.astype(np.uint8), mask=above,
                                                               connectivity=8, transform=transform)]
    labels = rasterio.features.rasterize(((g, i + 1) for i, g in enumerate(polygons)), out_shape=scores.shape,
                                         transform=transform, fill=0, dtype="int32")
    labels[~above] = 0
    count = len(polygons) + 1
    index = labels.ravel()
    values = np.where(above, scores, 0.0).ravel().astype(np.float64)
    pixels = np.bincount(index, minlength=count)
    sums = np.bincount(index, weights=values, minlength=count)
    peaks = np.full(count, -np.inf)
    np.maximum.at(peaks, index, values)
    rows, cols = np.indices(scores.shape)
    xs, ys = transform * (cols.ravel() + 0.5, rows.ravel() + 0.5)
    cx, cy = np.bincount(index, weights=xs, minlength=count), np.bincount(index, weights=ys, minlength=count)
    pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
    found = [Detection(polygons[i - 1], int(pixels[i]), float(peaks[i]), float(sums[i] / pixels[i]),
                       float(pixels[i] * pixel_area), float(cx[i] / pixels[i]), float(cy[i] / pixels[i]))
             for i in range(1, count) if pixels[i]]
    return sorted(found, key=lambda d: -d.max_score)


def write_detection_mask(path, scores: np.ndarray, threshold: float, profile: dict, *, overwrite: bool = False,
                         inputs=(), others=()) -> None:
    """A uint8 GeoTIFF: 1 above ``threshold``, 0 below, 255 where the map has no score; atomically.

    Parameters
    ----------
    profile : dict
        The map's ``crs`` and ``transform``.
    """
    mask = np.where(np.isfinite(scores), (scores > threshold).astype(np.uint8), np.uint8(255))
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others, suffix=".tmp.tif") as tmp:
        with rasterio.open(tmp, "w", driver="GTiff", width=mask.shape[1], height=mask.shape[0], count=1,
                           dtype="uint8", nodata=255, crs=profile.get("crs"), transform=profile["transform"],
                           tiled=True, compress="deflate") as ds:
            ds.write(mask, 1)
            ds.set_band_description(1, f"score > {threshold:.6g}")


def write_detections(path, detections: list[Detection], crs, *, threshold: float, overwrite: bool = False,
                     inputs=(), others=()) -> None:
    """Write detections as GeoJSON or GeoPackage (by extension), atomically.

    GeoJSON carries the CRS as a named ``crs`` member (read by GDAL, QGIS and geopandas)
    when it has an EPSG code.  GeoPackage needs the ``vector`` extra (geopandas, pyogrio).

    Raises
    ------
    ParameterError
        An extension other than ``.geojson``, ``.json`` or ``.gpkg``.
    MissingDependencyError
        GeoPackage without geopandas.
    """
    fmt = FORMATS.get(os.path.splitext(str(path))[1].lower())
    if fmt is None:
        raise ParameterError(f"--detections: {path}: expected a .geojson or .gpkg file")
    features = [{"type": "Feature", "geometry": d.geometry,
                 "properties": {"id": i + 1, "max_score": d.max_score, "mean_score": d.mean_score, "pixels": d.pixels,
                                "area": d.area, "centroid_x": d.centroid_x, "centroid_y": d.centroid_y,
                                "threshold": threshold}}
                for i, d in enumerate(detections)]
    suffix = ".tmp.gpkg" if fmt == "GPKG" else ".tmp"
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others, suffix=suffix) as tmp:
        if fmt == "GeoJSON":
            collection = {"type": "FeatureCollection", "features": features}
            epsg = crs.to_epsg() if crs is not None else None
            if epsg:
                collection["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
            tmp.write_text(json.dumps(collection))
        else:
            try:
                import geopandas
            except ImportError as exc:
                raise MissingDependencyError("GeoPackage detections need geopandas: pip install 'hadinfer[vector]'") \
                    from exc
            frame = geopandas.GeoDataFrame.from_features(
                features, crs=None if crs is None else crs.to_wkt(),
                columns=["geometry", "id", "max_score", "mean_score", "pixels", "area", "centroid_x", "centroid_y",
                         "threshold"])
            tmp.unlink()  # GDAL creates the GeoPackage itself (under the same unique name)
            frame.to_file(tmp, driver="GPKG", layer="detections")
