"""Issue 21: a cluster's map is the single-process map to the bit, whatever the strips, for every detector."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors.registry import registered
from hadinfer.distributed.strip_detect import detect_strips

from .conftest import TILE

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'hadinfer[dask]'")

#: Every registered detector that scores without training on the scene and without a file
#: (``learned``'s second statistics pass included).
DETECTORS = [name for name, entry in registered().items() if not entry.needs_scene and name != "model"]


@pytest.mark.parametrize("detector", DETECTORS)
def test_two_worker_cluster_map_is_byte_identical_to_one_process(client, scene_path, detector):
    entry = registered()[detector]
    if entry.missing_modules():
        pytest.skip(f"{detector} needs {', '.join(entry.missing_modules())} (extra {entry.extra!r})")
    single = hadinfer.detect(scene_path, detector=detector, device="cpu", tile_size=TILE).scores
    for strips in (None, 3):  # 4 strips (one per tile row) and 3 uneven ones, on 2 workers
        cluster = detect_strips(scene_path, client=client, detector=detector, device="cpu", tile_size=TILE,
                                strips=strips).scores
        assert cluster.tobytes() == single.tobytes(), f"{detector}, strips={strips}"
    assert np.isnan(single).sum() == 12


#: The shipped network (``adapt`` trains on the scene and ``model`` takes a file: the same class).
NETWORKS = ["general"]


@pytest.mark.parametrize("detector", NETWORKS)
def test_a_network_detector_on_several_native_tiles_is_byte_identical_on_the_cluster(client, tall_scene_path,
                                                                                     detector):
    pytest.importorskip("onnxruntime", reason="the shipped model runs on ONNX Runtime (extra 'onnx')")
    single = hadinfer.detect(tall_scene_path, detector=detector, device="cpu", tile_size=TILE)
    assert single.report["tile_size"] == [256, 40]  # its native tiles, not TILE
    for strips in (None, 2):  # 3 strips, and 2 uneven ones
        cluster = detect_strips(tall_scene_path, client=client, detector=detector, device="cpu", tile_size=4096,
                                strips=strips).scores
        assert cluster.tobytes() == single.scores.tobytes(), f"{detector}, strips={strips}"


def test_a_cluster_map_carries_the_single_process_provenance(client, scene_path, tmp_path):
    import rasterio

    single = hadinfer.detect(scene_path, tmp_path / "single.tif", detector="grx", device="cpu", tile_size=TILE)
    cluster = detect_strips(scene_path, tmp_path / "cluster.tif", client=client, detector="grx", device="cpu",
                            tile_size=TILE)
    with rasterio.open(single.path) as a, rasterio.open(cluster.path) as b:
        ours, theirs = a.tags(), b.tags()
    for key in ("HADINFER_SOURCE", "HADINFER_SOURCE_SHA256", "HADINFER_BANDS", "HADINFER_DETECTOR"):
        assert key in theirs and theirs[key] == ours[key], key
    assert cluster.report["provenance"]["source_sha256"] == single.report["provenance"]["source_sha256"]


def test_learned_places_bands_at_the_files_wavelengths_on_the_cluster_too(client, scene_path, tmp_path):
    import rasterio
    import shutil

    path = tmp_path / "with-wavelengths.tif"
    shutil.copy(scene_path, path)
    centres = 400.0 + np.cumsum(np.r_[0, np.full(5, 10.0), np.full(6, 60.0)])  # fine, then coarse: uneven
    with rasterio.open(path, "r+") as ds:
        for band, nm in enumerate(centres, 1):
            ds.update_tags(band, wavelength=f"{nm:g}", wavelength_units="nm")
    single = hadinfer.detect(path, detector="learned", device="cpu", tile_size=TILE)
    assert single.report["params"]["band_centres"] == pytest.approx(list(centres))
    cluster = detect_strips(path, client=client, detector="learned", device="cpu", tile_size=TILE, strips=3)
    assert cluster.scores.tobytes() == single.scores.tobytes()
    even = hadinfer.detect(scene_path, detector="learned", device="cpu", tile_size=TILE).scores
    assert not np.array_equal(np.nan_to_num(even), np.nan_to_num(single.scores))  # the positions changed the map
