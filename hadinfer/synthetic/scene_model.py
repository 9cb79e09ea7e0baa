"""Synthetic, georeferenced hyperspectral scenes with planted anomalies.

The scene is the project's built-in example, the fixture of the tests and the
input of the benchmarks, so it has to be cheap at any size, identical on every
run, and identical whatever window it is generated through.  This module draws
and renders it in memory; :mod:`hadinfer.synthetic.geotiff` writes it to disk.

Scene model
-----------
Every pixel is a function of the seed, the scene shape and its own coordinates
only, so :func:`synthetic_window` reproduces any window of :func:`make_cube`
bit for bit, and a scene larger than memory is written block by block.

* **Materials.** 6-10 common background spectra, each a smooth curve over
  the band index: a baseline and slope, a sigmoid edge (a "red edge"), 2-4
  Gaussian bumps or dips, and two absorption features shared by all materials
  (residual atmospheric water).  Reflectance stays within [0.02, 0.7].  Two
  more materials with strong features cover about 4 % of the patches: they are
  background, but rare, and they are what global RX mistakes for anomalies.
  Spectra are drawn on a normalized band axis, so a seed gives the same
  materials at any band count.
* **Layout.** A soft Voronoi partition: one jittered site per 24 x 24 pixel
  cell, each site a mix of two materials with its own brightness and a small
  smooth deviation along 8 spectral directions of decaying spread (so the
  background fills many dimensions, as a real one does).  Abundances are a
  softmax of ``-distance / 1.5 px`` over the 5 x 5 nearest sites, so patch
  borders are mixed pixels.
* **Illumination.** A cross-track brightness gradient (view-angle effects)
  times a few low-frequency sinusoids (haze), about 0.85-1.15, plus a
  medium-frequency "moisture" texture along one spectral direction.
* **Anomalies.** About one target per 4000 pixels (at least 4), drawn once for
  the whole scene shape.  Half are full-pixel squares of 1 x 1 to 3 x 3 pixels,
  half are single sub-pixel targets whose material covers 20-60 % of the pixel
  and is mixed linearly with the background.  Target spectra come from a
  library of six: three kept at least 0.1 rad (spectral angle) from every
  background material, three that are a common material with one narrow
  feature changed by 25-50 % (camouflaged, hard at sub-pixel fractions).
  Targets are lit like their surroundings.  The truth is 1 on every pixel that
  contains target material.
* **Noise.** Gaussian, per band, signal-to-noise ratio 100-300 at reflectance
  0.3 (lowest at the spectral ends and in the absorption bands).  The noise of
  row ``r``, columns ``[256 j, 256 (j + 1))`` comes from a Philox generator
  whose counter starts at ``(0, 0, j, r)``: counter-based, so any window draws
  exactly the noise of the full scene.

Global RX separates most targets from the background (ROC AUC typically
0.95-1 at 128 x 128 x 50) but not all: camouflaged sub-pixel targets score like
background, and rare-material patches score like targets.

Determinism rests on element-wise arithmetic done in a fixed order: no BLAS
(whose rounding may depend on where a row falls in a matrix) and no reductions
whose order could depend on array shape.  Values are reproducible on a given
machine and numpy build; transcendental functions may differ in the last bit
between CPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..pairs import as_pair
from .validation import non_negative_int, positive_int

_CELL = 24  # Voronoi cell size, pixels: patches of about 50 m at 2 m GSD
_SOFTNESS = 1.5  # softmax length, pixels: width of the mixed border
_REACH = 2  # sites considered: the (2 * _REACH + 1) ** 2 nearest cells
_NEGLIGIBLE = 1e-6  # softmax weights below this are zero, so they cost nothing
_PIXELS_PER_TARGET = 4000
_MIN_TARGETS = 4
_DISTINCT_TARGETS = 3  # target spectra far from every background material
_CAMOUFLAGED_TARGETS = 3  # target spectra that are a background material, slightly altered
_RARE_MATERIALS = 2  # background materials on few patches: the false alarms of global RX
_RARE_SHARE = 0.04  # share of patches made of a rare material
_N_BASIS = 8  # smooth spectral deviations per patch
_NOISE_CHUNK = 256  # columns per noise stream
_RENDER_PIXELS = 65_536  # pixels per strip of a window: bounds per-pixel temporaries
_CACHE_PIXELS = 512  # pixels per accumulation pass, sized to stay in cache

# Independent random streams, keyed (seed, stream).
_STREAM_SPECTRA, _STREAM_LAYOUT, _STREAM_TARGETS, _STREAM_NOISE = 1, 2, 3, 4


def synthetic_window(row_off, col_off, height, width, *, scene_shape, bands, seed=0):
    """Generate one window of a synthetic scene.

    Parameters
    ----------
    row_off, col_off : int
        Upper-left pixel of the window in the scene, >= 0.
    height, width : int
        Window size in pixels, > 0; the window must lie inside the scene.
    scene_shape : tuple of int
        ``(rows, cols)`` of the whole scene.  Layout, illumination and targets
        depend on it, so windows only agree when they share it.
    bands : int
        Number of spectral bands, > 0.
    seed : int, default 0
        Non-negative seed; the same seed gives the same scene.

    Returns
    -------
    cube : numpy.ndarray
        ``(height, width, bands)`` float32 reflectance (unitless, about
        0.01-1, noise included).
    truth : numpy.ndarray
        ``(height, width)`` uint8, 1 where the pixel contains target material.

    Raises
    ------
    ParameterError
        If an argument is not an integer of the right sign, or the window does
        not fit in the scene.

    Notes
    -----
    The result equals ``make_cube(*scene_shape, bands, seed=seed)`` sliced to
    the window, bit for bit.  Memory is the result (``height * width * (4 *
    bands + 1)`` bytes) plus about 50 MB of temporaries, whatever the window.

    Examples
    --------
    >>> cube, truth = make_cube(64, 64, 20, seed=3)
    >>> part, part_truth = synthetic_window(10, 20, 8, 8, scene_shape=(64, 64), bands=20, seed=3)
    >>> bool((part == cube[10:18, 20:28]).all() and (part_truth == truth[10:18, 20:28]).all())
    True
    """
    rows, cols = as_pair(scene_shape, "scene_shape", scalar=False)
    bands = positive_int(bands, "bands")
    seed = non_negative_int(seed, "seed")
    row_off = non_negative_int(row_off, "row_off")
    col_off = non_negative_int(col_off, "col_off")
    height = positive_int(height, "height")
    width = positive_int(width, "width")
    if row_off + height > rows:
        raise ParameterError(f"row_off + height: window rows {row_off}..{row_off + height} exceed scene height {rows}")
    if col_off + width > cols:
        raise ParameterError(f"col_off + width: window cols {col_off}..{col_off + width} exceed scene width {cols}")
    model = _SceneModel.build(rows, cols, bands, seed)
    return model.render(row_off, col_off, height, width)


def make_cube(height, width, bands, *, seed=0):
    """Generate a whole synthetic scene in memory.

    Parameters
    ----------
    height, width : int
        Scene size in pixels, > 0.
    bands : int
        Number of spectral bands, > 0.
    seed : int, default 0
        Non-negative seed.

    Returns
    -------
    cube : numpy.ndarray
        ``(height, width, bands)`` float32 reflectance.
    truth : numpy.ndarray
        ``(height, width)`` uint8, 1 where the pixel contains target material.

    Raises
    ------
    ParameterError
        If a size is not a positive integer or the seed is negative.

    Notes
    -----
    Needs the result (``height * width * (4 * bands + 1)`` bytes) plus about
    50 MB; for scenes that do not fit, use :func:`write_synthetic_scene` or
    :func:`synthetic_window`.

    Examples
    --------
    >>> cube, truth = make_cube(128, 128, 50)
    >>> cube.shape, cube.dtype.name, truth.dtype.name, int(truth.sum()) > 0
    ((128, 128, 50), 'float32', 'uint8', True)
    """
    height = positive_int(height, "height")
    width = positive_int(width, "width")
    bands = positive_int(bands, "bands")
    seed = non_negative_int(seed, "seed")
    return _SceneModel.build(height, width, bands, seed).render(0, 0, height, width)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class _SceneModel:
    """Everything drawn from the seed for one scene shape; renders any window."""

    rows: int
    cols: int
    endmembers: np.ndarray  # (n_materials + _N_BASIS + 1, bands) float32
    n_materials: int
    site_y: np.ndarray  # (grid_rows, grid_cols) float64, padded by _REACH cells
    site_x: np.ndarray
    site_primary: np.ndarray  # material of each site
    site_secondary: np.ndarray
    site_primary_share: np.ndarray  # brightness times share of the primary material
    site_secondary_share: np.ndarray
    site_deviation: np.ndarray  # (grid_rows, grid_cols, _N_BASIS) basis coefficients
    haze: np.ndarray  # (k, 4): amplitude, row frequency, col frequency, phase
    texture: np.ndarray  # (k, 4), same layout
    cross_track: tuple[float, float]  # linear and quadratic brightness terms
    targets: np.ndarray  # (n, 4) int64: row, col, size, library index
    target_fraction: np.ndarray  # (n,) float32, 1 for full-pixel targets
    target_scale: np.ndarray  # (n,) float32 brightness of the target material
    target_spectra: np.ndarray  # (targets in library, bands) float32
    noise_sigma: np.ndarray  # (bands,) float32
    noise_key: np.ndarray  # (2,) uint64 Philox key

    @property
    def target_count(self) -> int:
        return len(self.targets)

    @classmethod
    def build(cls, rows: int, cols: int, bands: int, seed: int) -> _SceneModel:
        axis = (np.arange(bands, dtype=np.float64) + 0.5) / bands

        spectra_rng = _rng(seed, _STREAM_SPECTRA)
        n_common = int(spectra_rng.integers(6, 11))
        common = [_material_spectrum(spectra_rng, axis) for _ in range(n_common)]
        rare = [_strong_spectrum(spectra_rng, axis) for _ in range(_RARE_MATERIALS)]
        materials = np.stack(common + rare)
        n_materials = len(materials)
        basis = np.stack([_basis_spectrum(spectra_rng, axis) for _ in range(_N_BASIS)])
        moisture = -np.exp(-0.5 * ((axis - 0.8) / 0.12) ** 2) * (0.4 + axis)
        distinct = [_distinct_spectrum(spectra_rng, axis, materials) for _ in range(_DISTINCT_TARGETS)]
        camouflaged = [
            _camouflaged_spectrum(spectra_rng, axis, materials[:n_common]) for _ in range(_CAMOUFLAGED_TARGETS)
        ]
        targets_lib = np.stack(distinct + camouflaged)
        endmembers = np.concatenate([materials, basis, moisture[None]]).astype(np.float32)

        layout_rng = _rng(seed, _STREAM_LAYOUT)
        grid_shape = (-(-rows // _CELL) + 2 * _REACH, -(-cols // _CELL) + 2 * _REACH)
        jitter = layout_rng.uniform(0.05, 0.95, size=(2, *grid_shape))
        cell_y, cell_x = np.meshgrid(np.arange(grid_shape[0]), np.arange(grid_shape[1]), indexing="ij")
        site_y = (cell_y - _REACH + jitter[0]) * _CELL
        site_x = (cell_x - _REACH + jitter[1]) * _CELL
        site_primary = layout_rng.integers(0, n_common, size=grid_shape)
        rare_site = layout_rng.random(grid_shape) < _RARE_SHARE
        site_primary[rare_site] = layout_rng.integers(n_common, n_materials, size=int(rare_site.sum()))
        site_secondary = layout_rng.integers(0, n_common, size=grid_shape)
        site_mix = layout_rng.uniform(0.0, 0.35, size=grid_shape)
        site_brightness = layout_rng.uniform(0.85, 1.15, size=grid_shape)
        # Deviations with decaying spread: the background fills many dimensions, as real ones do.
        spread = 0.015 * 0.75 ** np.arange(_N_BASIS)
        site_deviation = layout_rng.normal(0.0, 1.0, size=(*grid_shape, _N_BASIS)) * spread
        # Periods in pixels: haze 150-600, texture 8-40.
        haze = _waves(layout_rng, 3, 0.035, 150.0, 600.0)
        texture = _waves(layout_rng, 4, 0.015, 8.0, 40.0)
        cross_track = (float(layout_rng.uniform(-0.08, 0.08)), float(layout_rng.uniform(-0.08, 0.0)))

        target_rng = _rng(seed, _STREAM_TARGETS)
        n_targets = max(_MIN_TARGETS, round(rows * cols / _PIXELS_PER_TARGET))
        sub_pixel = target_rng.random(n_targets) < 0.5
        size = np.where(sub_pixel, 1, target_rng.integers(1, 4, size=n_targets))
        size = np.minimum(size, min(rows, cols))
        top = np.floor(target_rng.random(n_targets) * (rows - size + 1)).astype(np.int64)
        left = np.floor(target_rng.random(n_targets) * (cols - size + 1)).astype(np.int64)
        kind = target_rng.integers(0, len(targets_lib), size=n_targets)
        fraction = np.where(sub_pixel, target_rng.uniform(0.2, 0.6, size=n_targets), 1.0)
        scale = target_rng.uniform(0.8, 1.2, size=n_targets)

        # SNR 100-300 at reflectance 0.3: lowest at the ends and in absorption bands.
        snr = 300.0 * (0.55 + 0.45 * np.sin(np.pi * axis)) * _absorption(axis) ** 2
        noise_sigma = (0.3 / np.maximum(snr, 100.0)).astype(np.float32)
        noise_key = np.random.SeedSequence([seed, _STREAM_NOISE]).generate_state(2, np.uint64)

        return cls(
            rows=rows,
            cols=cols,
            endmembers=endmembers,
            n_materials=n_materials,
            site_y=site_y,
            site_x=site_x,
            site_primary=site_primary,
            site_secondary=site_secondary,
            site_primary_share=site_brightness * (1.0 - site_mix),
            site_secondary_share=site_brightness * site_mix,
            site_deviation=site_deviation,
            haze=haze,
            texture=texture,
            cross_track=cross_track,
            targets=np.stack([top, left, size, kind], axis=1).astype(np.int64),
            target_fraction=fraction.astype(np.float32),
            target_scale=scale.astype(np.float32),
            target_spectra=targets_lib.astype(np.float32),
            noise_sigma=noise_sigma,
            noise_key=noise_key,
        )

    def render(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Cube ``(height, width, bands)`` float32 and truth ``(height, width)`` uint8 of one window."""
        cube = np.empty((height, width, self.endmembers.shape[1]), dtype=np.float32)
        truth = np.zeros((height, width), dtype=np.uint8)
        # Every pixel depends on its coordinates only, so strips of rows bound the
        # per-pixel temporaries (~600 bytes a pixel) without changing any value.
        step = max(1, _RENDER_PIXELS // width)
        for top in range(0, height, step):
            rows = min(step, height - top)
            self._render_into(cube[top : top + rows], truth[top : top + rows], row_off + top, col_off)
        return cube, truth

    def _render_into(self, cube: np.ndarray, truth: np.ndarray, row_off: int, col_off: int) -> None:
        height, width, bands = cube.shape
        y = np.repeat(np.arange(row_off, row_off + height, dtype=np.float64) + 0.5, width)
        x = np.tile(np.arange(col_off, col_off + width, dtype=np.float64) + 0.5, height)
        illumination = self._illumination(y, x)
        abundances = self._abundances(y, x, illumination)

        flat = cube.reshape(height * width, bands)
        flat[...] = 0.0
        scratch = np.empty((min(_CACHE_PIXELS, len(flat)), bands), dtype=np.float32)
        for start in range(0, len(flat), _CACHE_PIXELS):
            stop = min(start + _CACHE_PIXELS, len(flat))
            out, tmp, part = flat[start:stop], scratch[: stop - start], abundances[start:stop]
            for k in range(len(self.endmembers)):
                column = part[:, k : k + 1]
                if column.any():  # a zero column would add exactly 0
                    np.multiply(column, self.endmembers[k], out=tmp)
                    out += tmp
        self._paint_targets(cube, truth, illumination.reshape(height, width), row_off, col_off)
        self._add_noise(cube, row_off, col_off)

    def _illumination(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        u = x / self.cols - 0.5
        linear, quadratic = self.cross_track
        light = 1.0 + linear * 2.0 * u + quadratic * 4.0 * u * u
        return light * (1.0 + _wave_sum(self.haze, y, x))

    def _abundances(self, y: np.ndarray, x: np.ndarray, illumination: np.ndarray) -> np.ndarray:
        """(pixels, endmembers) float32 weights: soft Voronoi mixing, deviations, texture, light."""
        grid_cols = self.site_y.shape[1]
        cell = ((y // _CELL).astype(np.int64) + _REACH) * grid_cols + (x // _CELL).astype(np.int64) + _REACH
        site_y, site_x = self.site_y.ravel(), self.site_x.ravel()
        sites, distances = [], []
        for dy in range(-_REACH, _REACH + 1):
            for dx in range(-_REACH, _REACH + 1):
                site = cell + (dy * grid_cols + dx)
                sites.append(site)
                distances.append(np.hypot(y - site_y.take(site), x - site_x.take(site)))
        nearest = distances[0].copy()
        for d in distances[1:]:
            np.minimum(nearest, d, out=nearest)
        total = np.zeros_like(nearest)
        for d in distances:  # in place: the distances become softmax numerators
            np.subtract(nearest, d, out=d)
            d /= _SOFTNESS
            np.exp(d, out=d)
            d[d < _NEGLIGIBLE] = 0.0
            total += d

        abundances = np.zeros((len(y), len(self.endmembers)), dtype=np.float64)
        basis = slice(self.n_materials, self.n_materials + _N_BASIS)
        primary, secondary = self.site_primary.ravel(), self.site_secondary.ravel()
        primary_share, secondary_share = self.site_primary_share.ravel(), self.site_secondary_share.ravel()
        deviation = self.site_deviation.reshape(-1, _N_BASIS)
        for site, weight in zip(sites, distances):
            # Zero weights would add exactly 0: skipping them changes no value.
            pixel = np.flatnonzero(weight)
            site, w = site.take(pixel), weight.take(pixel) / total.take(pixel)
            abundances[pixel, primary.take(site)] += w * primary_share.take(site)
            abundances[pixel, secondary.take(site)] += w * secondary_share.take(site)
            abundances[pixel, basis] += w[:, None] * deviation.take(site, axis=0)
        abundances[:, -1] = _wave_sum(self.texture, y, x)
        abundances *= illumination[:, None]
        return abundances.astype(np.float32)

    def _paint_targets(self, cube, truth, illumination, row_off, col_off) -> None:
        height, width = truth.shape
        top, left, size = self.targets[:, 0], self.targets[:, 1], self.targets[:, 2]
        hits = np.flatnonzero(
            (top < row_off + height) & (top + size > row_off) & (left < col_off + width) & (left + size > col_off)
        )
        for i in hits:  # in index order, so overlapping targets paint the same way in every window
            target_top, target_left, target_size, kind = (int(v) for v in self.targets[i])
            r0 = max(target_top, row_off) - row_off
            r1 = min(target_top + target_size, row_off + height) - row_off
            c0 = max(target_left, col_off) - col_off
            c1 = min(target_left + target_size, col_off + width) - col_off
            fraction = self.target_fraction[i]
            spectrum = self.target_spectra[kind] * self.target_scale[i]
            light = illumination[r0:r1, c0:c1, None].astype(np.float32)
            region = cube[r0:r1, c0:c1]
            region[...] = region * (np.float32(1.0) - fraction) + fraction * (light * spectrum)
            truth[r0:r1, c0:c1] = 1

    def _add_noise(self, cube: np.ndarray, row_off: int, col_off: int) -> None:
        height, width, bands = cube.shape
        first, last = col_off // _NOISE_CHUNK, (col_off + width - 1) // _NOISE_CHUNK
        draw = np.empty((_NOISE_CHUNK, bands), dtype=np.float32)
        for i in range(height):
            row = row_off + i
            for chunk in range(first, last + 1):
                start = chunk * _NOISE_CHUNK
                stop = min(start + _NOISE_CHUNK, self.cols)
                lo, hi = max(start, col_off), min(stop, col_off + width)
                generator = np.random.Generator(np.random.Philox(counter=[0, 0, chunk, row], key=self.noise_key))
                noise = draw[: stop - start]
                generator.standard_normal(out=noise, dtype=np.float32)
                noise = noise[lo - start : hi - start]
                noise *= self.noise_sigma
                cube[i, lo - col_off : hi - col_off] += noise


# --------------------------------------------------------------------------- spectra


def _absorption(axis: np.ndarray) -> np.ndarray:
    """Residual atmospheric water bands shared by every material (multiplicative)."""
    return (1.0 - 0.55 * np.exp(-0.5 * ((axis - 0.47) / 0.018) ** 2)) * (
        1.0 - 0.65 * np.exp(-0.5 * ((axis - 0.69) / 0.025) ** 2)
    )


def _smooth_curve(rng: np.random.Generator, axis: np.ndarray, bumps: int, bump_amplitude: float) -> np.ndarray:
    """Baseline, slope, a sigmoid edge and Gaussian bumps: parameters first, so band count does not matter."""
    level = rng.uniform(0.05, 0.35)
    slope = rng.uniform(-0.15, 0.25)
    edge_at, edge_height, edge_width = rng.uniform(0.25, 0.6), rng.uniform(0.0, 0.3), rng.uniform(0.015, 0.05)
    centers = rng.uniform(0.0, 1.0, size=bumps)
    widths = rng.uniform(0.02, 0.1, size=bumps)
    heights = rng.uniform(-bump_amplitude, bump_amplitude, size=bumps)
    curve = level + slope * axis + edge_height / (1.0 + np.exp(-(axis - edge_at) / edge_width))
    for c, w, h in zip(centers, widths, heights):
        curve = curve + h * np.exp(-0.5 * ((axis - c) / w) ** 2)
    return curve


def _material_spectrum(rng: np.random.Generator, axis: np.ndarray) -> np.ndarray:
    bumps = int(rng.integers(2, 5))
    return np.clip(_smooth_curve(rng, axis, bumps, 0.08) * _absorption(axis), 0.02, 0.7)


def _strong_spectrum(rng: np.random.Generator, axis: np.ndarray) -> np.ndarray:
    """A smooth spectrum with strong features (paint, plastic, metal roofs)."""
    bumps = int(rng.integers(1, 4))
    return np.clip(_smooth_curve(rng, axis, bumps, 0.25) * _absorption(axis), 0.02, 0.7)


def _basis_spectrum(rng: np.random.Generator, axis: np.ndarray) -> np.ndarray:
    """A smooth unit-scale deviation: a Gaussian bump of random sign and width."""
    center, width = rng.uniform(0.0, 1.0), rng.uniform(0.08, 0.3)
    return rng.choice([-1.0, 1.0]) * np.exp(-0.5 * ((axis - center) / width) ** 2) * _absorption(axis)


def _distinct_spectrum(rng: np.random.Generator, axis: np.ndarray, materials: np.ndarray) -> np.ndarray:
    """A strong spectrum at least 0.1 rad (spectral angle) from every background material."""
    for _ in range(50):
        spectrum = _strong_spectrum(rng, axis)
        if _spectral_angle(spectrum, materials).min() > 0.1:
            break
    return spectrum


def _camouflaged_spectrum(rng: np.random.Generator, axis: np.ndarray, materials: np.ndarray) -> np.ndarray:
    """A background material with one feature changed by 15-35 %: hard to tell from the background."""
    base = materials[rng.integers(0, len(materials))]
    center, width = rng.uniform(0.1, 0.9), rng.uniform(0.02, 0.06)
    change = rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 0.5)
    return np.clip(base * (1.0 + change * np.exp(-0.5 * ((axis - center) / width) ** 2)), 0.02, 0.7)


def _spectral_angle(spectrum: np.ndarray, library: np.ndarray) -> np.ndarray:
    cos = (library @ spectrum) / (np.linalg.norm(library, axis=1) * np.linalg.norm(spectrum))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _waves(rng: np.random.Generator, count: int, amplitude: float, shortest: float, longest: float) -> np.ndarray:
    """Plane waves as rows of (amplitude, row frequency, col frequency, phase), frequencies in rad/pixel."""
    period = rng.uniform(shortest, longest, size=count)
    angle = rng.uniform(0.0, np.pi, size=count)
    frequency = 2.0 * np.pi / period
    amp = rng.uniform(0.5, 1.0, size=count) * amplitude
    phase = rng.uniform(0.0, 2.0 * np.pi, size=count)
    return np.stack([amp, frequency * np.sin(angle), frequency * np.cos(angle), phase], axis=1)


def _wave_sum(waves: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    total = np.zeros_like(y)
    for amp, fy, fx, phase in waves:
        total += amp * np.sin(fy * y + fx * x + phase)
    return total

def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))

