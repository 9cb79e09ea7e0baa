"""From an anomaly map to vector detections: connected regions, valid polygons, GIS files.

Vector as in GIS vector data (the ``vector`` extra), not spectral vectors; the detectors that
make the map are in :mod:`hadinfer.detectors`.

Regions are 8-connected (a target's pixels often touch only diagonally).  GDAL's
polygonizer outlines 8-connected regions with self-touching rings, which OGC calls
invalid, so each region's geometry is built from its *4-connected* parts, which GDAL
outlines validly: a Polygon, or a MultiPolygon whose parts touch only at corners.

Files are written through GDAL (pyogrio and geopandas, extra ``vector``): a GeoPackage
keeps the scene's CRS, whatever it is (an EPSG code or not); GeoJSON follows RFC 7946:
WGS 84 longitude/latitude, counter-clockwise exterior rings, no ``crs`` member.  Without
the extra, GeoJSON is still written, by a small fallback that reprojects with rasterio
(core) and orients rings the same way.  A scene without a CRS has pixel coordinates,
which every GeoJSON reader would take for WGS 84: that is refused, GeoPackage writes them
with an undefined CRS.

Thresholds (a false-alarm rate to a score) are in :mod:`hadinfer.thresholds`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import rasterio.features
from affine import Affine

from .errors import MissingDependencyError, ParameterError
from .io.atomic import atomic_output
from .thresholds import chi2_isf, choose_threshold, detection_threshold  # noqa: F401  (re-exported)

#: Vector formats by extension.
FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
#: Attribute columns of every detection, in file order (``geometry`` aside).  ``mean_spectrum``
#: holds the region's mean over the bands scored: a JSON array in GeoJSON, its text in GeoPackage.
COLUMNS = ("id", "max_score", "mean_score", "pixels", "area", "centroid_x", "centroid_y", "peak_row", "peak_col",
           "threshold", "mean_spectrum")
VECTOR_EXTRA = "pip install 'hadinfer[vector]'"


@dataclass
class Detection:
    """One connected region above the threshold.

    Attributes
    ----------
    geometry : dict
        GeoJSON Polygon or MultiPolygon in the map's CRS (pixel units when it has none).
    pixels : int
    max_score, mean_score : float
    area : float
        In CRS units squared (pixels when not georeferenced).
    centroid_x, centroid_y : float
        Mean of the region's pixel centres, in the map's CRS.
    peak_row, peak_col : int
        The strongest pixel.
    spectrum : ndarray of float64, shape (B,), or None
        Mean spectrum of the region's pixels (the bands scored), when the scene was given.
    """

    geometry: dict
    pixels: int
    max_score: float
    mean_score: float
    area: float
    centroid_x: float
    centroid_y: float
    peak_row: int = 0
    peak_col: int = 0
    spectrum: np.ndarray | None = field(default=None, repr=False)

    def properties(self, number: int, threshold: float, *, spectrum_as_text: bool = True) -> dict:
        """The detection's attributes, JSON-ready.

        ``mean_spectrum`` is a JSON array as text (what a GeoPackage column holds; GDAL
        writes such text as a native array in GeoJSON), or a list.
        """
        spectrum = None if self.spectrum is None else [_finite(v) for v in self.spectrum]
        if spectrum is not None and spectrum_as_text:
            spectrum = json.dumps(spectrum)
        return {"id": number, "max_score": _finite(self.max_score), "mean_score": _finite(self.mean_score),
                "pixels": self.pixels, "area": self.area, "centroid_x": self.centroid_x,
                "centroid_y": self.centroid_y, "peak_row": self.peak_row, "peak_col": self.peak_col,
                "threshold": _finite(threshold), "mean_spectrum": spectrum}


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def region_labels(above: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected regions of ``above``.

    Parameters
    ----------
    above : ndarray of bool, shape (H, W)

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        0 outside, 1..count inside, in GDAL's scan order.
    count : int
    """
    labels = np.zeros(above.shape, dtype=np.int32)
    if not above.any():
        return labels, 0
    outlines = [geom for geom, _ in rasterio.features.shapes(above.astype(np.uint8), mask=above, connectivity=8)]
    labels = rasterio.features.rasterize(((g, i + 1) for i, g in enumerate(outlines)), out_shape=above.shape,
                                         fill=0, dtype="int32")
    labels[~above] = 0
    return labels, len(outlines)


def region_geometries(labels: np.ndarray, count: int, transform: Affine) -> list[dict | None]:
    """Valid GeoJSON geometries of regions 1..count: their 4-connected parts' polygons."""
    parts: list[list] = [[] for _ in range(count + 1)]
    for geom, value in rasterio.features.shapes(labels, mask=labels > 0, connectivity=4, transform=transform):
        parts[int(value)].append(geom["coordinates"])
    out: list[dict | None] = []
    for rings in parts[1:]:
        if not rings:
            out.append(None)
        elif len(rings) == 1:
            out.append({"type": "Polygon", "coordinates": rings[0]})
        else:
            out.append({"type": "MultiPolygon", "coordinates": rings})
    return out


def find_detections(scores: np.ndarray, transform: Affine, threshold: float, *, spectra=None) -> list[Detection]:
    """Connected regions (8-connected) of pixels scoring above ``threshold``, as valid polygons.

    Parameters
    ----------
    scores : ndarray, shape (H, W)
        NaN where not scored.
    transform : affine.Affine
        The map's pixel-to-CRS transform.
    threshold : float
    spectra : ndarray of shape (H, W, B), Scene, or None
        The scored cube (its selected bands), for each detection's mean spectrum; a
        Scene is read in strips, so a large scene is never loaded at once.

    Returns
    -------
    list of Detection
        Strongest first.
    """
    scores = np.asarray(scores)
    above = np.isfinite(scores) & (scores > threshold)
    labels, count = region_labels(above)
    if count == 0:
        return []
    geometries = region_geometries(labels, count, transform)
    size = count + 1
    index = labels.ravel()
    values = np.where(above, scores, 0.0).ravel().astype(np.float64)
    pixels = np.bincount(index, minlength=size)
    sums = np.bincount(index, weights=values, minlength=size)
    order = np.lexsort((-values, index))  # per label, the strongest pixel first
    first = np.searchsorted(index[order], np.arange(size))
    peak_at = order[np.minimum(first, index.size - 1)]
    rows, cols = np.indices(scores.shape)
    xs, ys = transform * (cols.ravel() + 0.5, rows.ravel() + 0.5)
    cx, cy = np.bincount(index, weights=xs, minlength=size), np.bincount(index, weights=ys, minlength=size)
    pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
    means = mean_spectra(spectra, labels, count) if spectra is not None else None
    found = []
    for i in range(1, size):
        if not pixels[i] or geometries[i - 1] is None:
            continue
        peak_row, peak_col = divmod(int(peak_at[i]), scores.shape[1])
        found.append(Detection(geometries[i - 1], int(pixels[i]), float(values[peak_at[i]]),
                               float(sums[i] / pixels[i]), float(pixels[i] * pixel_area), float(cx[i] / pixels[i]),
                               float(cy[i] / pixels[i]), peak_row, peak_col,
                               None if means is None else means[i]))
    return sorted(found, key=lambda d: -d.max_score)


def mean_spectra(source, labels: np.ndarray, count: int, *, strip_rows: int = 256) -> np.ndarray:
    """Mean spectrum of each labelled region.

    Parameters
    ----------
    source : ndarray of shape (H, W, B), or Scene
        A Scene is read ``strip_rows`` rows at a time, and only strips holding a region.
    labels : ndarray of int, shape (H, W)
    count : int

    Returns
    -------
    ndarray of float64, shape (count + 1, B)
        Row ``i`` is region ``i``'s mean over its valid pixels (row 0 unused); NaN for a
        region with none.
    """
    from .io.scene import Scene

    height = labels.shape[0]
    is_scene = isinstance(source, Scene)
    bands = len(source.info.bands) if is_scene else np.shape(source)[2]
    sums = np.zeros((count + 1, bands))
    counts = np.zeros(count + 1)
    for top in range(0, height, strip_rows):
        strip = labels[top:top + strip_rows]
        if not strip.any():
            continue
        if is_scene:
            cube, valid = source.read(top, 0, strip.shape[0], labels.shape[1])
        else:
            cube = np.asarray(source[top:top + strip_rows])
            valid = np.isfinite(cube).all(axis=2) if np.issubdtype(cube.dtype, np.floating) else \
                np.ones(strip.shape, dtype=bool)
        keep = (strip > 0) & valid
        index = strip[keep]
        np.add.at(sums, index, cube[keep].astype(np.float64))
        counts += np.bincount(index, minlength=count + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def check_detections_path(path, *, has_crs: bool | None = None) -> str:
    """The vector format of ``path``, checked before any work is done.

    Parameters
    ----------
    path : str or PathLike
    has_crs : bool, optional
        Whether the scene has a CRS (False refuses GeoJSON); None when not known yet.

    Raises
    ------
    ParameterError
        An extension other than ``.geojson``, ``.json`` or ``.gpkg``; GeoJSON of a scene
        without a CRS (RFC 7946 coordinates are WGS 84: pixel coordinates would be read
        as degrees).
    MissingDependencyError
        GeoPackage without the ``vector`` extra.
    """
    fmt = FORMATS.get(os.path.splitext(str(path))[1].lower())
    if fmt is None:
        raise ParameterError(f"--detections: {path}: expected a .geojson or .gpkg file")
    if fmt == "GeoJSON" and has_crs is False:
        raise ParameterError(f"--detections: {path}: the scene has no CRS, and GeoJSON coordinates are WGS 84 "
                             "longitude/latitude (RFC 7946); write a .gpkg (pixel coordinates, undefined CRS) or "
                             "georeference the scene")
    if fmt == "GPKG" and not _has_vector_extra():
        raise MissingDependencyError(f"GeoPackage detections need geopandas and pyogrio: {VECTOR_EXTRA}")
    return fmt


def check_placeable(gcps, rpcs, where) -> None:
    """Refuse to place detections on a raster georeferenced by ground control points or RPCs.

    Regions are placed through an affine geotransform; a raster georeferenced by GCPs or
    by rational polynomial coefficients (a satellite level-1 product) has none (its
    transform is the identity), so its detections would land at pixel coordinates taken
    for map coordinates.  Either model fitted to an affine would be wrong wherever the
    image is warped (the reason for them), so the user warps the scene instead.

    Parameters
    ----------
    gcps : sequence
        The raster's ground control points (empty: nothing to refuse).
    rpcs : rasterio.rpc.RPC or None
        Its rational polynomial coefficients (None: nothing to refuse).
    where : str or PathLike
        The scene or map, for the message.

    Raises
    ------
    ParameterError
        ``gcps`` is not empty, or ``rpcs`` is not None.
    """
    if len(gcps):
        model, warp, kept = f"{len(gcps)} ground control points", "gdalwarp scene.tif warped.tif", "GCPs"
    elif rpcs is not None:
        model, warp, kept = "rational polynomial coefficients (RPCs)", "gdalwarp -rpc scene.tif warped.tif", "RPCs"
    else:
        return
    raise ParameterError(f"--detections: {where} is georeferenced by {model}, not a geotransform, so detections "
                         f"cannot be placed on it; warp it first (e.g. {warp}) or leave out "
                         f"--pfa/--threshold/--detections (the map keeps the {kept})")


def _has_vector_extra() -> bool:
    try:
        import geopandas  # noqa: F401
        import pyogrio  # noqa: F401
    except ImportError:
        return False
    return True


def detections_frame(detections: list[Detection], crs, *, threshold: float):
    """The detections as a ``geopandas.GeoDataFrame`` in ``crs`` (kept as WKT when it has no EPSG code).

    Raises
    ------
    MissingDependencyError
        geopandas is not installed (extra ``vector``).
    """
    try:
        import geopandas
        from shapely.geometry import shape
    except ImportError as exc:
        raise MissingDependencyError(f"a GeoDataFrame of detections needs geopandas: {VECTOR_EXTRA}") from exc
    rows = [d.properties(i + 1, threshold) for i, d in enumerate(detections)]
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    return geopandas.GeoDataFrame(columns, geometry=[shape(d.geometry) for d in detections],
                                  crs=_crs_for_geopandas(crs))


def _crs_for_geopandas(crs):
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def write_detections(path, detections: list[Detection], crs, *, threshold: float, overwrite: bool = False,
                     inputs=(), others=()) -> None:
    """Write detections as GeoJSON (RFC 7946) or GeoPackage (by extension), atomically.

    Parameters
    ----------
    crs : rasterio.crs.CRS or None
        The map's CRS; None means pixel coordinates (GeoPackage only).

    Raises
    ------
    ParameterError
        See :func:`check_detections_path`.
    MissingDependencyError
        GeoPackage without the ``vector`` extra.
    """
    fmt = check_detections_path(path, has_crs=crs is not None)
    suffix = ".tmp.gpkg" if fmt == "GPKG" else ".tmp.geojson"
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others, suffix=suffix) as tmp:
        if _has_vector_extra():
            frame = detections_frame(detections, crs, threshold=threshold)
            tmp.unlink()  # GDAL creates the file itself (under the same unique name)
            if fmt == "GeoJSON":
                frame.to_crs("EPSG:4326").to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946=True)
            else:
                with warnings.catch_warnings():  # no CRS is what a scene without one means: undefined
                    warnings.filterwarnings("ignore", message="'crs' was not provided")
                    frame.to_file(tmp, driver="GPKG", layer="detections", engine="pyogrio")
        else:
            tmp.write_text(json.dumps(geojson_collection(detections, crs, threshold=threshold)))


def geojson_collection(detections: list[Detection], crs, *, threshold: float) -> dict:
    """An RFC 7946 FeatureCollection, without the ``vector`` extra.

    Geometries are reprojected to WGS 84 longitude/latitude by rasterio, exterior rings
    made counter-clockwise and holes clockwise; numbers that are not finite become null.
    """
    from rasterio.warp import transform_geom

    features = []
    for i, d in enumerate(detections):
        geom = transform_geom(crs, "EPSG:4326", d.geometry, precision=9)
        features.append({"type": "Feature", "geometry": _right_hand(dict(geom)),
                         "properties": d.properties(i + 1, threshold, spectrum_as_text=False)})
    return {"type": "FeatureCollection", "features": features}


def _right_hand(geom: dict) -> dict:
    def orient(ring, ccw):
        ring = [list(p) for p in ring]
        area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
        return ring if (area > 0) == ccw else ring[::-1]

    def polygon(rings):
        return [orient(r, i == 0) for i, r in enumerate(rings)]

    if geom["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geom["coordinates"])}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom["coordinates"]]}


def write_detection_mask(path, scores: np.ndarray, threshold: float, profile: dict, *, overwrite: bool = False,
                         inputs=(), others=()) -> None:
    """A uint8 GeoTIFF: 1 above ``threshold``, 0 below, 255 where the map has no score; atomically.

    Parameters
    ----------
    profile : dict
        The map's ``crs`` and ``transform`` (and ``gcps``, when it is georeferenced by them).
    """
    mask = np.where(np.isfinite(scores), (scores > threshold).astype(np.uint8), np.uint8(255))
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others, suffix=".tmp.tif") as tmp:
        with rasterio.open(tmp, "w", driver="GTiff", width=mask.shape[1], height=mask.shape[0], count=1,
                           dtype="uint8", nodata=255, crs=profile.get("crs"), transform=profile["transform"],
                           tiled=True, compress="deflate") as ds:
            ds.write(mask, 1)
            ds.set_band_description(1, f"score > {threshold:.6g}")


def map_detections(map_path, path, *, pfa=None, threshold=None, rule: str = "tail", scene=None,
                   overwrite: bool = False, inputs=(), others=(), mask_path=None) -> dict:
    """Threshold a written map, write its regions as polygons (and a mask); the report entry.

    Parameters
    ----------
    map_path : str or PathLike
        A score map GeoTIFF (its nodata pixels are not scored).
    path : str or PathLike
        Detections file (``.geojson`` or ``.gpkg``).
    pfa, threshold, rule
        See :func:`hadinfer.thresholds.choose_threshold`.
    scene : Scene, optional
        The scored scene, for each detection's mean spectrum.

    Returns
    -------
    dict
        ``path``, ``count``, ``threshold``, ``rule``, ``pfa`` and the tail model (JSON-ready).
    """
    with rasterio.open(map_path) as ds:  # the whole map: 4 bytes a pixel
        check_placeable(ds.gcps[0] if ds.transform.is_identity else (),
                        ds.rpcs if ds.transform.is_identity and not ds.gcps[0] else None,
                        map_path if scene is None else scene.info.path)
        scores = ds.read(1, masked=True).filled(np.nan).astype(np.float64)
        transform, crs = ds.transform, ds.crs
    level = choose_threshold(scores, pfa=pfa, threshold=threshold, rule=rule)
    found = find_detections(scores, transform, level.value, spectra=scene)
    write_detections(path, found, crs, threshold=level.value, overwrite=overwrite, inputs=inputs, others=others)
    if mask_path:
        write_detection_mask(mask_path, scores, level.value, {"crs": crs, "transform": transform},
                             overwrite=overwrite, inputs=inputs, others=tuple(others) + (path,))
    return {"path": str(path), "count": len(found)} | level.as_dict()
