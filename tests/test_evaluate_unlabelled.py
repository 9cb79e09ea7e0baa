"""A truth mask's nodata and NaN pixels label nothing: ``evaluate`` leaves them out (they counted as anomalies)."""

import numpy as np
import pytest
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.errors import ParameterError
from hadinfer.io import read_mask, read_truth
from hadinfer.metrics import detection_metrics

from .conftest import write_geotiff


@pytest.fixture
def scored(tmp_path, small_cube):
    """A map of the small scene (its anomaly at row 10, column 20) and a mask that labels the right
    half only: targets 1, background 0, the unsurveyed left half the mask's nodata, 255."""
    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    result = hadinfer.detect(scene, tmp_path / "map.tif", detector="grx")
    truth = np.zeros(small_cube.shape[:2], np.uint8)
    truth[9:12, 19:22] = 1
    truth[:, :18] = 255
    path = write_geotiff(tmp_path / "truth.tif", truth[..., None], nodata=255)
    return result.path, path, truth


def test_the_masks_nodata_is_left_out_not_counted_as_anomalies(scored):
    map_path, truth_path, truth = scored
    import rasterio

    metrics = hadinfer.evaluate(map_path, truth_path)
    with rasterio.open(map_path) as ds:
        scores = ds.read(1).astype(np.float64)
    labelled = truth != 255
    expected = detection_metrics(scores, np.where(labelled, truth, 0), valid=labelled)  # the labelled half alone
    assert (metrics["n_anomaly"], metrics["n_background"], metrics["n_unlabelled"]) == (9, 40 * 18 - 9, 40 * 18)
    assert metrics["auc_df"] == expected["auc_df"] and metrics["snpr"] == expected["snpr"]


def test_read_truth_and_read_mask_say_which_pixels_are_labelled(scored, tmp_path):
    _, truth_path, truth = scored
    anomaly, labelled, info = read_truth(truth_path)
    assert info is not None and labelled.sum() == 40 * 18 and anomaly.sum() == 9
    mask, _ = read_mask(truth_path)
    np.testing.assert_array_equal(mask, anomaly)  # the nodata value 255 is not an anomaly
    nan_mask = np.where(truth == 255, np.nan, truth).astype(np.float32)
    anomaly, labelled, _ = read_truth(write_geotiff(tmp_path / "nan.tif", nan_mask[..., None]))
    assert labelled.sum() == 40 * 18 and anomaly.sum() == 9


def test_the_cli_says_how_many_pixels_the_mask_leaves_out(scored):
    map_path, truth_path, _ = scored
    result = CliRunner().invoke(cli, ["evaluate", str(map_path), "--truth", str(truth_path)])
    assert result.exit_code == 0, result.output
    assert "pixels     9 anomaly, 711 background, 720 not labelled by the mask (its nodata), left out" in result.stdout


def test_a_mask_without_background_is_named_by_its_file(scored, tmp_path):
    map_path, _, truth = scored
    only_targets = write_geotiff(tmp_path / "targets.tif", np.where(truth == 1, 1, 255).astype(np.uint8)[..., None],
                                 nodata=255)
    with pytest.raises(ParameterError, match=r"targets\.tif: no background pixel among the valid pixels of the map "
                                             r"\(the mask marks anomalies"):
        hadinfer.evaluate(map_path, only_targets)


def test_a_mask_written_with_nodata_0_keeps_0_as_background(scored, tmp_path):
    """GDAL tools often write masks with nodata=0 where 0 means background: not left out."""
    map_path, _, truth = scored
    zero = write_geotiff(tmp_path / "zero.tif", np.where(truth == 1, 1, 0).astype(np.uint8)[..., None], nodata=0)
    metrics = hadinfer.evaluate(map_path, zero)
    assert (metrics["n_anomaly"], metrics["n_background"], metrics["n_unlabelled"]) == (9, 40 * 36 - 9, 0)


def test_a_mask_of_another_size_is_named_with_both_sizes(scored, tmp_path):
    map_path, _, _ = scored
    other = write_geotiff(tmp_path / "small.tif", np.zeros((5, 4, 1), np.uint8))
    with pytest.raises(ParameterError, match=r"small\.tif: the mask is 5 x 4 pixels, the map .*map\.tif 40 x 36; "):
        hadinfer.evaluate(map_path, other)
