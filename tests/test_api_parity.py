"""What the Python API gives beyond a map: thresholds, detections, arrays with masks, bands and layouts, provenance."""

import json
import math

import numpy as np
import pytest
import rasterio

import hadinfer
from hadinfer.errors import BandSelectionError, ParameterError
from hadinfer.models.metadata import file_sha256

from .conftest import write_geotiff


def test_detect_returns_threshold_and_detections(small_cube):
    result = hadinfer.detect(small_cube, detector="grx", device="cpu", pfa=0.01)
    assert result.threshold.rule == "tail" and result.threshold.pfa == 0.01
    entry = result.report["detections"]
    assert entry["count"] == len(result.detections) >= 1
    json.dumps(result.report, allow_nan=False)  # no NaN or Infinity anywhere
    first = result.detections.iloc[0] if hasattr(result.detections, "iloc") else result.detections[0]
    peak = (first["peak_row"], first["peak_col"]) if hasattr(first, "keys") else (first.peak_row, first.peak_col)
    assert peak == (10, 20)  # the planted anomaly is the strongest detection
    absolute = hadinfer.detect(small_cube, detector="grx", device="cpu", threshold=1e9)
    assert absolute.threshold.rule == "threshold" and absolute.report["detections"]["count"] == 0


def test_detections_file_from_the_api_and_refusals_before_work(tmp_path, small_tif):
    out = tmp_path / "d.geojson"
    result = hadinfer.detect(small_tif, tmp_path / "map.tif", detector="grx", device="cpu", pfa=0.01, detections=out)
    assert result.report["detections"]["path"] == str(out) and out.exists()
    with pytest.raises(ParameterError, match="pfa"):
        hadinfer.detect(small_tif, detector="grx", device="cpu", pfa=float("nan"))
    with pytest.raises(ParameterError, match="threshold"):
        hadinfer.detect(small_tif, detector="grx", device="cpu", threshold=float("inf"))
    with pytest.raises(ParameterError, match="needs pfa"):
        hadinfer.detect(small_tif, detector="grx", device="cpu", detections=tmp_path / "x.geojson")
    with pytest.raises(ParameterError, match="no CRS"):  # a cube has pixel coordinates: not GeoJSON
        hadinfer.detect(np.zeros((20, 20, 3)), detector="grx", device="cpu", pfa=0.01,
                        detections=tmp_path / "y.geojson")
    assert not (tmp_path / "y.geojson").exists()


def test_open_dataset_is_refused_with_the_fix(small_tif):
    with rasterio.open(small_tif) as ds:
        with pytest.raises(ParameterError, match="pass its path"):
            hadinfer.detect(ds, device="cpu")


def test_masked_array_keeps_its_mask(small_cube):
    masked = np.ma.masked_array(small_cube, mask=np.zeros(small_cube.shape, bool))
    masked.mask[3, 4, 5] = True
    masked.data[3, 4] = 1e6  # what the mask hides must not reach the statistics
    scores = hadinfer.detect(masked, detector="grx", device="cpu").scores
    plain = small_cube.copy()
    plain[3, 4] = np.nan
    want = hadinfer.detect(plain, detector="grx", device="cpu").scores
    assert np.isnan(scores[3, 4])
    np.testing.assert_allclose(scores, want, rtol=1e-5)


def test_bands_select_an_arrays_bands(small_cube):
    chosen = hadinfer.detect(small_cube, detector="grx", device="cpu", bands="1-3,7")
    want = hadinfer.detect(small_cube[:, :, [0, 1, 2, 6]], detector="grx", device="cpu")
    np.testing.assert_allclose(chosen.scores, want.scores, rtol=1e-5)
    assert chosen.report["provenance"]["bands"] == "1-3,7"
    with pytest.raises(BandSelectionError):
        hadinfer.detect(small_cube, detector="grx", device="cpu", bands="1-99")


def test_map_tags_carry_bands_source_hash_and_command(tmp_path, small_tif):
    out = tmp_path / "map.tif"
    hadinfer.detect(small_tif, out, detector="grx", device="cpu", bands="2-5")
    with rasterio.open(out) as ds:
        tags = ds.tags()
    assert tags["HADINFER_BANDS"] == "2-5" and tags["HADINFER_SOURCE"] == str(small_tif)
    assert tags["HADINFER_SOURCE_SHA256"] == file_sha256(small_tif) and tags["HADINFER_COMMAND"]


@pytest.mark.parametrize("detector", ["lrx", "fusion", "grx"])
def test_a_scene_without_variance_scores_zero(detector):
    scores = hadinfer.detect(np.full((30, 30, 5), 7.0), detector=detector, device="cpu").scores
    assert np.isfinite(scores).all() and float(np.nanmax(scores)) <= 1e-9 + (1e-12 if detector == "fusion" else 0)


def test_threshold_report_is_json_safe_on_a_constant_map():
    from hadinfer.thresholds import choose_threshold

    chosen = choose_threshold(np.zeros((10, 10)), pfa=0.01)
    assert chosen.value == 0.0 and chosen.as_dict()["tail_model"]["rate"] is None
    empty = choose_threshold(np.full((4, 4), np.nan), pfa=0.01)
    assert math.isinf(empty.value) and empty.as_dict()["threshold"] is None
    json.dumps([chosen.as_dict(), empty.as_dict()], allow_nan=False)
