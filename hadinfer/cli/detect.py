"""``hadinfer detect``: score a scene into a georeferenced anomaly map."""

from __future__ import annotations

import functools
import logging

import click

from ..api import detect as run_detect
from ..detectors import DEFAULT_DETECTOR
from .batch import batch_request, expand_scenes, run_batch
from .detector_options import DeviceType, detector_choice, detector_help, detector_metavar, detector_options
from .options import (CreationOptionType, OutputFile, ProgressBars, WavelengthRangesType,
                      check_detection_options, check_map_extension, check_optional_output, creation_options,
                      is_quiet, staged_map, verbosity_options, write_json)
from .scheduled import check_scheduler_options, run_scheduled_batch, run_scheduled_scene, scheduler_options

log = logging.getLogger(__name__)


def write_map_detections(result, path, *, pfa, threshold, overwrite, inputs, others, mask_path=None,
                         scene=None) -> dict:
    """Threshold the written map, write its regions as polygons; returns a report entry.

    ``scene`` is ``(path, key, bands)`` of the scored scene, for each detection's mean
    spectrum (``hadinfer/vectors.py``).
    """
    from ..vectors import map_detections
    from ..io import open_scene

    if scene is None:
        return map_detections(result.path, path, pfa=pfa, threshold=threshold, overwrite=overwrite, inputs=inputs,
                              others=others, mask_path=mask_path)
    with open_scene(scene[0], key=scene[1], bands=scene[2]) as opened:
        return map_detections(result.path, path, pfa=pfa, threshold=threshold, scene=opened, overwrite=overwrite,
                              inputs=inputs, others=others, mask_path=mask_path)


@click.command("detect")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=OutputFile("map.tif"), default=None,
              help="Anomaly map of one scene: a GeoTIFF, named .tif, .tiff or .gtiff.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Many scenes (globs too): DIR/<name>.tif and DIR/<name>.json per scene, DIR/summary.json; "
                   "existing maps are skipped unless --overwrite, and a failing scene does not stop the others.")
@click.option("--detector", default=DEFAULT_DETECTOR, show_default=True, metavar=detector_metavar(),
              help=detector_help())
@detector_options
@click.option("--key", default=None, help=".mat variable holding the cube (default: auto-detect).")
@click.option("--bands", default=None, help="1-based band selection, e.g. 1-100,120-200.")
@click.option("--wavelengths", type=WavelengthRangesType(), default=None,
              help="Select bands by centre wavelength: inclusive nanometre ranges, e.g. 400-1340,1450-1790 (from the "
                   "ENVI header or GDAL band metadata, in any unit; with --bands, a band must satisfy both).")
@click.option("--device", type=DeviceType(), default="auto", show_default=True,
              help="Where to compute, as decided by what runs the detector (the array library for RX, the model "
                   "runtime for networks); a device it cannot use is an error, never a silent CPU fallback.")
@click.option("--tile-size", type=click.IntRange(min=8), default=256, show_default=True,
              help="Tile edge in pixels (rounded up to the file's blocks); the map does not depend on it, to the bit. "
                   "Network detectors (general, adapt, model files) always use 256.")
@click.option("--cog", is_flag=True, help="Write a Cloud-Optimized GeoTIFF.")
@click.option("--co", "co_pairs", type=CreationOptionType(), multiple=True,
              help="GDAL creation option of the map, repeatable, as rio's --co: e.g. --co COMPRESS=ZSTD "
                   "--co ZSTD_LEVEL=9 (with --cog: LEVEL).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--report", "report_path", type=OutputFile("run.json"), default=None,
              help="Write a JSON run report here.")
@click.option("--detections", "detections_path", type=OutputFile("detections.geojson"), default=None,
              help="Also write the regions above a threshold as polygons (.geojson, or .gpkg with the 'vector' extra).")
@click.option("--pfa", type=float, default=None,
              help="Detections: false-alarm rate on background pixels, for every detector from a Pareto tail "
                   "fitted to the map's own upper scores (hadinfer/thresholds.py).")
@click.option("--threshold", type=float, default=None, help="Detections: an absolute score threshold instead.")
@click.option("--detections-mask", "mask_path", type=OutputFile("mask.tif"), default=None,
              help="Detections: also a uint8 GeoTIFF, 1 above the threshold, 0 below, 255 nodata.")
@scheduler_options
@verbosity_options
@click.pass_context
def command(ctx, scenes, output, output_dir, detector, key, bands, wavelengths, device, tile_size, cog, co_pairs,
            overwrite, report_path, detections_path, pfa, threshold, mask_path, scheduler, workers,
            **_detector_options):
    """Detect anomalies in SCENES: one scene to OUTPUT (-o), or many to --output-dir.

    A scene is any raster GDAL reads (GeoTIFF, ENVI, ...) or a MATLAB .mat cube
    (rows x cols x bands).  A map is float32 with its scene's CRS, transform, size and
    nodata; it appears only when complete.
    """
    quiet = is_quiet()
    check_scheduler_options(scheduler, workers)
    scenes = expand_scenes(scenes)
    if (output is None) == (output_dir is None):
        raise click.BadParameter("give -o MAP for one scene, or --output-dir DIR for several", param_hint="-o")
    if output is not None and len(scenes) != 1:
        raise click.BadParameter(f"-o takes one scene, got {len(scenes)}; use --output-dir DIR", param_hint="-o")
    if mask_path is not None and detections_path is None:
        raise click.BadParameter("needs --detections", param_hint="--detections-mask")
    if output_dir is not None and (report_path or detections_path):
        raise click.BadParameter("with --output-dir every scene gets DIR/<name>.json, and DIR/<name>.geojson "
                                 "when --pfa or --threshold is given", param_hint="--report/--detections")
    wants_detections = detections_path is not None or (output_dir is not None and (pfa, threshold) != (None, None))
    if wants_detections and (pfa is None) == (threshold is None):
        raise click.BadParameter("give exactly one of --pfa and --threshold", param_hint="--detections")
    check_detection_options(pfa, threshold, detections_path, output_dir)
    choice = detector_choice(ctx, detector)  # the one resolution of --detector in this run
    train_progress = None
    if choice.needs_scene:  # it trains first: a bar for that too
        from .train import TrainProgress

        train_progress = TrainProgress(enabled=not quiet)
        choice = choice.with_params(train_progress=train_progress)

    model_files = choice.model_files  # files the detector reads: no output may replace them
    if output is not None:  # the same-file checks first: -o model.onnx must say it is the model
        check_optional_output(output, overwrite, inputs=(scenes[0], *model_files),
                              others=(report_path, detections_path, mask_path))
        check_map_extension(output)
    if mask_path is not None:  # a GeoTIFF too
        check_map_extension(mask_path, param_hint="--detections-mask")
    writer_options = {}
    if co_pairs:
        writer_options["creation_options"] = creation_options(co_pairs, cog=cog)
    log.debug("detector %s with %s; device %s, tile size %s requested%s", choice.value,
              choice.report_params(), device, tile_size,
              f", creation options {writer_options['creation_options']}" if writer_options else "")

    # What the maps are made of: recorded in each report, so a batch rerun skips a map
    # only when it was made the same way (hadinfer/cli/batch.py, plan_rows).
    request = batch_request(detector=choice.value, params=choice.report_params(), key=key, bands=bands,
                            wavelengths=wavelengths, pfa=pfa, threshold=threshold)

    def run_one(scene, output, report_path, detections_path, detect=run_detect) -> dict:
        check_optional_output(output, overwrite, inputs=(scene, *model_files),
                              others=(report_path, detections_path, mask_path))
        check_optional_output(report_path, overwrite, inputs=(scene, *model_files), others=(output, detections_path))
        check_optional_output(detections_path, overwrite, inputs=(scene, *model_files), others=(output, report_path))
        check_optional_output(mask_path, overwrite, inputs=(scene, *model_files),
                              others=(output, report_path, detections_path))
        scene_bands = bands
        if wavelengths is not None:  # nanometres to band numbers, from the header alone
            from ..io import wavelength_band_spec

            scene_bands = wavelength_band_spec(scene, wavelengths, key=key, bands=bands)
            log.debug("%s: --wavelengths %s selects bands %s", scene, wavelengths, scene_bands)
        with staged_map(output, overwrite=overwrite, inputs=(scene, *model_files),
                        others=(report_path, detections_path, mask_path)) as staged:
            report = score_scene(scene, output, staged, report_path, detections_path, detect, scene_bands)
        if not quiet:
            s = report["scene"]
            click.echo(f"{output}: {report['detector']} on {s['height']}x{s['width']}x{s['bands']} "
                       f"({report['device']}) in {report['seconds']['total']:.2f} s, "
                       f"{report['megapixels_per_second']:.3g} MP/s"
                       + (f" (+ {report['seconds']['train']:.1f} s training)" if "train" in report["seconds"] else "")
                       + unscored_note(s), err=True)
        return report

    def score_scene(scene, output, staged, report_path, detections_path, detect, scene_bands) -> dict:
        """The map into ``staged`` (renamed to ``output`` by the caller only once all of this succeeded)."""
        progress = ProgressBars(enabled=not quiet)
        try:
            result = detect(scene, staged, detector=choice, key=key, bands=scene_bands, device=device,
                            tile_size=tile_size, overwrite=True, cog=cog, progress=progress, **writer_options)
        finally:
            progress.close()
            if train_progress is not None:
                train_progress.close()
        report = result.report
        report["output"] = str(output)
        report["request"] = request
        log.debug("%s: %d tile(s) of %s px, halo %d px, %d worker(s) and %d preparer(s)%s, GDAL cache %s MiB, "
                  "device %s (%s arrays%s)", scene,
                  report.get("tiles", 0), "x".join(map(str, report.get("tile_size", []))), report.get("halo", 0),
                  report.get("workers", 1), report.get("preparers", 1),
                  " with one BLAS thread each" if report.get("blas_threads_limited") else "",
                  report.get("gdal_cache_mb"), report.get("device"), report.get("arrays"),
                  f", {report['runtime']} runtime" if "runtime" in report else "")
        if wavelengths is not None:
            report["band_selection"] = {"wavelengths_nm": wavelengths, "bands": scene_bands}
        if detections_path:
            report["detections"] = write_map_detections(result, detections_path, pfa=pfa, threshold=threshold,
                                                         overwrite=overwrite, inputs=(scene, *model_files),
                                                         others=(output, report_path), mask_path=mask_path,
                                                         scene=(scene, key, scene_bands))
        if report_path:
            write_json(report_path, report, overwrite=overwrite, inputs=(scene, *model_files),
                       others=(output, detections_path))
        return report

    if output is not None:
        if scheduler is None:
            run_one(scenes[0], output, report_path, detections_path)
        else:  # the scene in strips across the cluster (hadinfer/cli/scheduled.py)
            run_scheduled_scene(lambda detect: run_one(scenes[0], output, report_path, detections_path, detect),
                                scheduler=scheduler, workers=workers)
        return
    batch = run_batch if scheduler is None else functools.partial(run_scheduled_batch, scheduler=scheduler,
                                                                  workers=workers)
    code = batch(scenes, output_dir, lambda scene, target, report: run_one(
        scene, target, report, target.with_suffix(".geojson") if wants_detections else None),
        overwrite=overwrite, quiet=quiet, suffixes=(".geojson",) if wants_detections else (),
        model_files=model_files, request=request)
    if code:
        raise click.exceptions.Exit(code)


def unscored_note(scene: dict) -> str:
    """``"; N of M pixels scored ..."`` for the summary line when some pixels were not, else ``""``."""
    total, valid = scene["height"] * scene["width"], scene.get("valid_pixels")
    if valid is None or valid >= total:
        return ""
    return (f"; {valid:,} of {total:,} pixels scored ({100 * valid / total:.3g} %), the rest nodata, masked "
            "or not finite in some band")
