"""Issue 21: every registered detector's map is the same bits whatever the tile size."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors.registry import registered
from hadinfer.weights import shipped_model

from ..conftest import write_geotiff

#: Every registered detector: ``model`` runs the shipped ONNX file, ``adapt`` trains a few
#: seeded steps on the scene before each run (its defaults take minutes).
DETECTORS = list(registered())
PARAMS = {"model": lambda: {"path": shipped_model("general")}, "adapt": lambda: {"steps": 4}}


@pytest.fixture(scope="module")
def striped_scene(tmp_path_factory):
    """300 x 270 x 12, striped (tiles are not cut to any block), with nodata and an anomaly;
    larger than a network's 256-pixel native tile, so those detectors see four tiles."""
    rng = np.random.default_rng(7)
    cube = rng.normal(size=(300, 270, 3)) @ rng.normal(size=(3, 12)) * 40 + rng.normal(size=(300, 270, 12)) * 4 + 900
    cube[150, 140] += np.linspace(-80, 80, 12)
    cube[10:13, 200:204] = -9999
    return write_geotiff(tmp_path_factory.mktemp("identity") / "striped.tif", cube.astype(np.int16), nodata=-9999)


def blas_rounds_rows_by_position() -> bool:
    """Whether this BLAS rounds a product's row differently with its place in the product.

    The maps' identity rests on it not doing so (``docs/distributed.md``): OpenBLAS's
    Haswell kernels do not; it is a property of the library stack, not a guarantee.
    """
    rng = np.random.default_rng(9)
    pixels = rng.normal(size=(1100, 64)).astype(np.float32)
    projection = rng.normal(size=(64, 64)).astype(np.float32)
    whole = pixels @ projection
    return any((pixels[shift:shift + rows] @ projection).tobytes() != whole[shift:shift + rows].tobytes()
               for shift in (1, 5, 17) for rows in (37, 256, 1000))


@pytest.mark.parametrize("detector", DETECTORS)
def test_the_map_is_the_same_bits_for_tile_sizes_32_100_4096(striped_scene, detector, monkeypatch):
    # The compiled kernels where numba is installed, although this scene is below the size they
    # run from by default; the test below runs the NumPy ones.
    monkeypatch.setenv("HADINFER_COMPILED", "1")
    if blas_rounds_rows_by_position():
        pytest.skip("this BLAS rounds a product's rows by their position, so float32 maps move by ulps with the tile")
    entry = registered()[detector]
    if entry.missing_modules():
        pytest.skip(f"{detector} needs {', '.join(entry.missing_modules())} (extra {entry.extra!r})")
    params = PARAMS.get(detector, dict)()
    maps = [hadinfer.detect(striped_scene, detector=detector, device="cpu", tile_size=tile, **params).scores
            for tile in (32, 100, 4096)]
    assert maps[0].tobytes() == maps[1].tobytes() == maps[2].tobytes()
    assert np.isnan(maps[0]).sum() == 12 and np.isfinite(maps[0]).sum() == 300 * 270 - 12


@pytest.mark.parametrize("detector", ["lrx", "fusion"])
def test_the_numpy_ring_kernel_is_the_same_bits_for_tile_sizes_32_100_4096(striped_scene, detector, monkeypatch):
    monkeypatch.setenv("HADINFER_COMPILED", "0")  # the test above runs the compiled one where numba is installed
    maps = [hadinfer.detect(striped_scene, detector=detector, device="cpu", tile_size=tile).scores
            for tile in (32, 100, 4096)]
    assert maps[0].tobytes() == maps[1].tobytes() == maps[2].tobytes()


@pytest.mark.parametrize("detector", ["grx", "fusion", "general"])
def test_the_triangular_energy_product_is_the_same_bits_for_tile_sizes_32_100_4096(striped_scene, detector,
                                                                                   monkeypatch):
    pytest.importorskip("scipy", reason="the triangular product is SciPy's BLAS")
    from hadinfer.kernels import triangular_energy

    params = PARAMS.get(detector, dict)()
    dense = hadinfer.detect(striped_scene, detector=detector, device="cpu", **params)  # small: the dense product
    monkeypatch.setattr(triangular_energy, "TRIANGULAR_MIN_VALUES", 0)  # as on a large scene
    runs = [hadinfer.detect(striped_scene, detector=detector, device="cpu", tile_size=tile, **params)
            for tile in (32, 100, 4096)]
    assert dense.report["energy_product"] == "dense" and runs[0].report["energy_product"] == "triangular"
    assert runs[0].scores.tobytes() == runs[1].scores.tobytes() == runs[2].scores.tobytes()
    np.testing.assert_allclose(runs[0].scores, dense.scores, rtol=1e-5 if detector != "general" else 1e-3)


@pytest.mark.parametrize("detector", ["grx", "fusion", "learned"])
def test_the_map_is_the_same_bits_for_one_or_several_scoring_threads(striped_scene, detector):
    if blas_rounds_rows_by_position():  # BLAS threads split a product's rows differently under load
        pytest.skip("this BLAS rounds a product's rows by their position")
    from hadinfer.detectors import build
    from hadinfer.pipeline import run_detector

    maps = []
    for workers in (1, 3):
        with hadinfer.open_scene(striped_scene) as scene:
            out = np.full((scene.info.height, scene.info.width), np.nan, dtype=np.float32)

            def sink(tile, scores, out=out):
                out[tile.core.toslices()] = scores

            run_detector(scene, build(detector), sink=sink, tile_size=64, device="cpu", workers=workers)
        maps.append(out)
    assert maps[0].tobytes() == maps[1].tobytes()
