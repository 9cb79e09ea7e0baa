"""The ``learned`` detector: two statistics passes, tile invariance, the shipped file, the CLI path."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.detectors.fusion_rx import FusionRX
from hadinfer.detectors.learned_features import LearnedFeatureRX
from hadinfer.errors import ParameterError
from hadinfer.weights import shipped_model

from ..conftest import write_geotiff


def test_map_is_the_geometric_mean_of_the_two_fusions(small_cube):
    cube = small_cube.astype(np.float64)
    detector = LearnedFeatureRX()
    scores = detector.fit_score(cube)
    features = detector.features(cube, np.ones(cube.shape[:2], bool))
    expected = np.sqrt(FusionRX().fit_score(cube).astype(np.float64)
                       * FusionRX(n_components=10).fit_score(features).astype(np.float64))
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_streamed_map_does_not_depend_on_tiles_or_source(small_cube, tmp_path):
    cube = small_cube.astype(np.float32)
    cube[3:6, 4:9] = np.nan  # nodata inside a tile
    path = write_geotiff(tmp_path / "scene.tif", np.nan_to_num(cube, nan=-9999.0), nodata=-9999.0)
    whole = LearnedFeatureRX().fit_score(np.where(np.isnan(cube), np.nan, cube))
    for tile in (8, 16, 512):
        tiled = hadinfer.detect(path, detector="learned", tile_size=tile, device="cpu").scores
        np.testing.assert_allclose(tiled, whole, rtol=2e-5, atol=1e-7)
        assert np.isnan(tiled[3:6, 4:9]).all()


def test_scoring_before_the_feature_pass_is_refused(small_cube):
    detector = LearnedFeatureRX()
    detector.fit(hadinfer.detectors.BackgroundStats(small_cube.shape[2]).update(small_cube.reshape(-1, small_cube.shape[2])))
    with pytest.raises(ParameterError, match="second statistics pass"):
        detector.score(small_cube.astype(np.float64), np.ones(small_cube.shape[:2], bool))


def test_shipped_feature_model_is_small_and_trained_without_confirmation_scenes():
    from hadinfer.models.feature_model import load_feature_model

    path = shipped_model("learned")
    assert path.stat().st_size <= 5 * 2**20
    report = load_feature_model(path).metadata["report"]
    confirmation = {"abu-beach-1", "abu-beach-3", "abu-urban-1", "pavia-center", "san-diego",
                    "salinas-implant-4", "salinas-implant-14"}
    assert report["sources"] and not confirmation & set(report["sources"])
    card = (path.parent / "MODEL_CARD.md").read_text()
    assert "hadinfer train-features" in card and path.name in card


def test_cli_runs_a_trained_feature_model_and_records_it(small_tif, tmp_path):
    pytest.importorskip("torch", reason="training needs torch (extra 'train')")
    runner = CliRunner()
    model = tmp_path / "f.npz"
    result = runner.invoke(cli, ["train-features", str(small_tif), "-o", str(model), "--steps", "5",
                                 "--versions", "1", "--objective", "fusion", "--generated", "1", "-q"])
    assert result.exit_code == 0, result.output
    from hadinfer.models.feature_model import load_feature_model

    trained = load_feature_model(model).metadata["report"]
    assert trained["recipe"]["objective"] == "fusion" and trained["generated"] == 1
    assert {name.split("#")[0] for name in trained["scenes"]} == {small_tif.stem, "generated-0-64b"}
    assert set(trained["loss_by_source"]) == {small_tif.stem, "generated-0-64b"}
    again = runner.invoke(cli, ["train-features", str(small_tif), "-o", str(model), "--steps", "5", "-q"])
    assert again.exit_code != 0 and "exists" in again.output
    told = runner.invoke(cli, ["train-features", str(small_tif), "-o", str(tmp_path / "g.npz"), "--steps", "5",
                               "--versions", "1", "--generated", "1"])
    assert told.exit_code == 0 and "(1 scene + 1 generated, loss" in told.output
    # only sources drawn in both halves of the 5 steps are counted
    assert re.search(r"lower in the second half on [0-2] of [1-2] sources\)", told.output)
    report = tmp_path / "run.json"
    result = runner.invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "map.tif"), "--detector", "learned",
                                 "--feature-model", str(model), "--report", str(report), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["params"]["model"] == str(model)
    bad = runner.invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "m2.tif"), "--detector", "learned",
                              "--feature-model", str(small_tif)])
    assert bad.exit_code != 0 and "feature model" in bad.output and "Traceback" not in bad.output


def test_features_kept_from_the_feature_pass_give_the_same_bits_as_computing_them_again(monkeypatch):
    import hadinfer.pipeline

    rng = np.random.default_rng(11)
    cube = (rng.normal(size=(70, 90, 3)) @ rng.normal(size=(3, 30)) * 40 + rng.normal(size=(70, 90, 30)) * 4
            + 900).astype(np.float32)
    kept = hadinfer.detect(cube, detector="learned", device="cpu", tile_size=32, layout="bands-last").scores
    monkeypatch.setattr(hadinfer.pipeline, "FEATURE_KEEP_BYTES", 0)
    computed = hadinfer.detect(cube, detector="learned", device="cpu", tile_size=32, layout="bands-last").scores
    assert kept.tobytes() == computed.tobytes()


def test_band_centres_place_the_bands_and_evenly_spaced_centres_change_nothing(small_cube):
    bands = small_cube.shape[2]
    plain = LearnedFeatureRX().fit_score(small_cube)
    even = LearnedFeatureRX(band_centres=np.linspace(400.0, 2400.0, bands)).fit_score(small_cube)
    np.testing.assert_allclose(even, plain, rtol=1e-5)
    uneven = LearnedFeatureRX(band_centres=400.0 + np.arange(bands) ** 2.0).fit_score(small_cube)
    assert np.abs(uneven - plain).max() > 1e-3 * np.abs(plain).max()
    assert LearnedFeatureRX(band_centres=np.arange(bands)).params()["band_centres"] == list(range(bands))
    assert "band_centres" not in LearnedFeatureRX().params()
    with pytest.raises(ParameterError, match="distinct band centres"):
        LearnedFeatureRX(band_centres=np.zeros(bands))
    with pytest.raises(ParameterError, match="band positions for"):
        LearnedFeatureRX(band_centres=np.arange(bands + 1)).fit_score(small_cube)


def test_the_same_scene_with_its_bands_listed_downwards_gives_the_same_map(small_cube):
    """Bands are placed by wavelength, not file order (until 2026-12-08 decreasing centres were
    ignored and the reversed spectra placed evenly: maps up to 20 % apart on the labelled files)."""
    centres = 400.0 + 7.0 * np.arange(small_cube.shape[2]) ** 1.5
    upwards = LearnedFeatureRX(band_centres=centres).fit_score(small_cube)
    downwards = LearnedFeatureRX(band_centres=centres[::-1]).fit_score(np.ascontiguousarray(small_cube[:, :, ::-1]))
    np.testing.assert_allclose(downwards, upwards, rtol=1e-4)


def test_a_run_passes_the_files_wavelengths_to_learned_only_and_keeps_the_callers(small_cube, tmp_path):
    import rasterio

    from hadinfer.detectors.registry import choose, with_band_centres

    bands = small_cube.shape[2]
    centres = tuple(400.0 + 7.0 * np.arange(bands) ** 1.5)
    assert with_band_centres(choose("learned"), centres).params["band_centres"] == centres
    assert with_band_centres(choose("fusion"), centres).params == {}
    assert with_band_centres(choose("learned", {"band_centres": [1, 2]}), centres).params["band_centres"] == [1, 2]
    assert with_band_centres(choose("learned"), centres[::-1]).params["band_centres"] == centres[::-1]
    assert with_band_centres(choose("learned"), (500.0,) * bands).params == {}  # repeated: evenly spaced
    assert with_band_centres(choose("learned"), None).params == {}
    path = write_geotiff(tmp_path / "scene.tif", small_cube.astype(np.float32))
    with rasterio.open(path, "r+") as ds:
        for band, nm in enumerate(centres, 1):
            ds.update_tags(band, wavelength=repr(float(nm)), wavelength_units="nm")
    run = hadinfer.detect(path, detector="learned", device="cpu")
    assert run.report["params"]["band_centres"] == pytest.approx(centres)
    placed = LearnedFeatureRX(band_centres=centres).fit_score(small_cube.astype(np.float32))
    np.testing.assert_allclose(run.scores, placed, rtol=2e-5)
    subset = hadinfer.detect(path, detector="learned", device="cpu", bands="1-5")  # the selected bands' centres
    assert subset.report["params"]["band_centres"] == pytest.approx(centres[:5])
    assert "band_centres" not in hadinfer.detect(path, detector="fusion", device="cpu").report["params"]
