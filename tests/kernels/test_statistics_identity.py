"""Issue 21: the background statistics are the same bits however the scene is cut, ordered or merged."""

import itertools

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors import BackgroundStats
from hadinfer.kernels.exact_sum import exact_quotient
from hadinfer.kernels.statistics import statistics_windows
from hadinfer.pipeline import accumulate_stats

from ..conftest import write_geotiff


def _bits(stats):
    return stats.count_, stats.mean_.tobytes(), stats.scatter_.tobytes()


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_any_order_or_tree_of_merges_gives_the_same_bits(precision):
    rng = np.random.default_rng(0)
    windows = [rng.normal(size=(300, 9)) * [1, 10, 1e2, 1e3, 1e4, 1, 1, 1, 1] + 1e5 for _ in range(4)]
    parts = [BackgroundStats(9).update(w, precision=precision) for w in windows]
    results = set()
    for order in itertools.permutations(range(4)):
        merged = BackgroundStats(9)
        for i in order:
            merged.merge(parts[i])
        results.add(_bits(merged))
    pairs = BackgroundStats(9).merge(BackgroundStats(9).merge(parts[3]).merge(parts[1])).merge(
        BackgroundStats(9).merge(parts[0]).merge(parts[2]))
    results.add(_bits(pairs))
    assert len(results) == 1
    expected = np.cov(np.vstack(windows), rowvar=False)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))  # rounding relative to each pair's scale
    np.testing.assert_allclose(pairs.covariance() / scale, expected / scale, atol=1e-6 if precision == "float32" else 1e-11)


def test_integer_windows_in_float64_give_the_exact_statistics_however_cut():
    pixels = np.random.default_rng(1).integers(0, 65535, size=(5000, 6)).astype(np.uint16)
    whole = BackgroundStats(6).update(pixels)
    cut = BackgroundStats(6)
    for part in np.array_split(pixels, 7):
        cut.update(part)
    assert _bits(whole) == _bits(cut)
    x = pixels.astype(object)  # exact integers: the scatter correctly rounded
    total = x.sum(axis=0)
    exact = [[(len(x) * int((x[:, i] * x[:, j]).sum()) - int(total[i]) * int(total[j])) / len(x) for j in range(6)]
             for i in range(6)]
    np.testing.assert_array_equal(whole.scatter_, np.array(exact))


def test_canonical_windows_ignore_the_tile_size():
    windows = statistics_windows((300, 260), (1, 260))
    assert [w.core.toranges() for w in windows] == [((0, 256), (0, 256)), ((0, 256), (256, 260)),
                                                    ((256, 300), (0, 256)), ((256, 300), (256, 260))]
    assert statistics_windows((600, 600), (512, 512))[0].core.height == 512


@pytest.mark.parametrize("detector", ["grx", "lrx", "fusion"])
def test_fitted_parameters_are_the_same_bits_for_tile_sizes_32_100_4096(tmp_path, detector):
    rng = np.random.default_rng(3)
    cube = (rng.normal(size=(90, 70, 3)) @ rng.normal(size=(3, 10)) * 40 + rng.normal(size=(90, 70, 10)) * 3
            + 900).astype(np.float32)
    path = write_geotiff(tmp_path / "striped.tif", cube)  # striped: tiles are not cut to any block
    fitted = []
    for tile in (32, 100, 4096):
        model = hadinfer.detect(path, detector=detector, device="cpu", tile_size=tile).detector
        parts = getattr(model, "parts_", [model])
        fitted.append(b"".join(p.mean_.tobytes() + p.projection_.tobytes() for p in parts))
    assert fitted[0] == fitted[1] == fitted[2]
    with hadinfer.open_scene(path) as scene:
        assert _bits(accumulate_stats(scene)) == _bits(accumulate_stats(scene))


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_the_scatter_from_its_upper_triangle_is_the_whole_exact_computation(precision):
    """_finish computes the upper triangle and mirrors it: the sums it rests on are symmetric."""
    rng = np.random.default_rng(21)
    stats = BackgroundStats(9)
    for _ in range(3):
        stats.update(rng.normal(size=(700, 9)) @ rng.normal(size=(9, 9)) * 50 + 400, precision=precision)
    first, e1 = stats._first.integers()
    second, e2 = stats._second.integers()
    cross, e3 = stats._cross.integers()
    assert (second == second.T).all()  # what the mirroring assumes
    e = min(e2, e3)
    whole = second * (1 << (e2 - e)) + (cross + cross.T) * (1 << (e3 - e))
    lowest = min(e, 2 * e1)
    numerator = whole * (stats.count_ << (e - lowest)) - np.multiply.outer(first, first) * (1 << (2 * e1 - lowest))
    assert stats.scatter_.tobytes() == exact_quotient(numerator, lowest, stats.count_).tobytes()


def test_pixels_counts_every_pixel_seen_valid_or_not_through_merges():
    rng = np.random.default_rng(2)
    cube = rng.normal(size=(20, 30, 4))
    valid = rng.random((20, 30)) > 0.3
    nothing = np.zeros((10, 30), dtype=bool)
    a = BackgroundStats(4).update_window(cube, valid)
    b = BackgroundStats(4).update_window(cube[:10], nothing)  # a window with no valid pixel
    assert (a.count_, a.pixels_, b.count_, b.pixels_) == (int(valid.sum()), 600, 0, 300)
    assert a.merge(b).pixels_ == 900 and a.count_ == int(valid.sum())
