"""Many scenes made into training data: sensor augmentation and implanted anomalies, no labels read."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hadinfer.errors import ParameterError
from hadinfer.models.input_policy import InputPolicy

from .scene_data import SceneData, prepare_scene, read_cube
from .sensor_augment import augment_sensor
from .synthetic_anomalies import implant_anomalies, implant_spectra, mean_region_size

#: Implanted regions per 10,000 pixels of each version (half real foreign spectra, half
#: band-shuffled own spectra): about 1 % of the pixels, like the benchmark scenes.
IMPLANTS_PER_10K = 24
#: Spectra each scene gives to the library other scenes implant from.
LIBRARY_PER_SCENE = 200


def generated_scenes(count: int) -> dict[str, np.ndarray]:
    """``count`` generated scenes (:func:`hadinfer.synthetic.make_cube`, 128 x 128 pixels,
    64 to 224 bands, scaled like radiance) as unlabelled training sources: their own targets
    are never labelled.  Always the same scenes for a count, whatever the training seed."""
    from hadinfer.synthetic import make_cube

    scenes = {}
    for i in range(count):
        bands = int(64 + (i * 37) % 161)  # spread over 64-224 bands
        scenes[f"generated-{i}-{bands}b"] = make_cube(128, 128, bands, seed=1000 + i)[0] * 10000
    return scenes


def spectral_library(cubes: dict[str, tuple[np.ndarray, np.ndarray]], rng: np.random.Generator,
                     per_scene: int = LIBRARY_PER_SCENE) -> dict[str, list[np.ndarray]]:
    """Random valid spectra of every scene, by scene name."""
    library = {}
    for name, (cube, valid) in cubes.items():
        ys, xs = np.nonzero(valid)
        pick = rng.choice(ys.size, size=min(per_scene, ys.size), replace=False)
        library[name] = [cube[ys[i], xs[i]].copy() for i in pick]
    return library


def generated_spectra(rng: np.random.Generator, count: int, bands: int = 128) -> list[np.ndarray]:
    """Smooth random positive spectra (a few broad bumps on a slope): implant material that
    belongs to no scene, for when no other scene's spectra are at hand (``adapt``)."""
    grid = np.linspace(0.0, 1.0, bands)
    spectra = []
    for _ in range(count):
        curve = 0.2 + rng.uniform(-0.5, 0.5) * grid
        for _ in range(int(rng.integers(1, 5))):
            curve = curve + rng.uniform(0.1, 1.0) * np.exp(-0.5 * ((grid - rng.uniform()) / rng.uniform(0.03, 0.3)) ** 2)
        spectra.append(np.maximum(curve, 0.01))
    return spectra


#: Largest implanted region, in pixels, of the shipped recipes (sizes uniform on 1-9).
IMPLANT_MAX_SIZE = 9


def implant(cube: np.ndarray, valid: np.ndarray, rng: np.random.Generator, foreign: list[np.ndarray],
            kinds: str = "mixed", *, max_size: int = IMPLANT_MAX_SIZE,
            sizes: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """Implant foreign spectra at sub-pixel abundances and band-shuffled regions (1-9 px by default).

    ``kinds="foreign"``: foreign spectra only, as many regions in all (no band-shuffled
    spectra, which no real material looks like); ``"shuffled"``: band-shuffled own spectra
    only.  ``max_size`` and ``sizes`` set the regions' sizes
    (:func:`~hadinfer.training.synthetic_anomalies.region_size`); larger regions come
    proportionally fewer, so about the same share of the pixels is implanted as with the
    default 1-9 px."""
    # Scaled by the mean region size against the default's (a factor of exactly 1 for it).
    scale = mean_region_size(IMPLANT_MAX_SIZE) / mean_region_size(max_size, sizes)
    count = max(2, int(round(IMPLANTS_PER_10K * valid.sum() / 1e4 * scale)))
    shape = {"max_size": max_size, "sizes": sizes, "valid": valid}
    if kinds == "foreign":
        return implant_spectra(cube, rng, foreign, count=count, **shape)
    if kinds == "shuffled":
        return implant_anomalies(cube, rng, count=count, **shape)
    if kinds != "mixed":
        raise ParameterError(f"implants: expected mixed, foreign or shuffled, got {kinds!r}")
    cube, mixed = implant_spectra(cube, rng, foreign, count=count - count // 2, **shape)
    cube, shuffled = implant_anomalies(cube, rng, count=count // 2, **shape)
    return cube, mixed | shuffled


def build_corpus(sources: dict[str, object], policy: InputPolicy, *, versions: int = 3, seed: int = 0,
                 key: str | None = None, bands: str | None = None, augment: bool = True,
                 pseudo_positives: bool = True, negative: float = 0.90,
                 progress: Callable[[str, int, int], None] | None = None) -> list[SceneData]:
    """Training scenes for a general model.

    Each source gives ``versions`` scenes: itself and ``versions - 1`` other-sensor views
    (:func:`~hadinfer.training.sensor_augment.augment_sensor`), each with its own implants
    (foreign spectra come only from the *other* sources, or are generated when there is
    one source) and consensus pseudo-labels.

    Parameters
    ----------
    sources : dict
        Name -> path or (H, W, B) array.  Masks are never read.
    policy : InputPolicy
        With local RX windows, the pseudo-labels are their consensus with global RX.
    versions : int
    seed : int
    key, bands : str, optional
        ``.mat`` variable and band selection of path sources.
    augment : bool
        Other-sensor views; off, every version is the scene itself with other implants.
    pseudo_positives : bool
        Whether the consensus's top pixels are positives (else only the implants are).
    negative : float
        Consensus ranks at or below are background.
    progress : callable, optional
        ``progress("prepare", done, total)``.
    """
    rng = np.random.default_rng(seed + 104729)
    # A policy without local channels (older models) labels by the mean of GRX and LRX ranks.
    pseudo = "consensus" if policy.lrx_windows else "both"
    cubes = {name: read_cube(src, key=key, bands=bands) for name, src in sources.items()}
    library = spectral_library(cubes, rng) if len(cubes) > 1 else {}
    scenes, total = [], len(cubes) * versions
    for name, (cube, valid) in cubes.items():
        foreign = [s for other, spectra in library.items() if other != name for s in spectra]
        foreign = foreign or generated_spectra(rng, LIBRARY_PER_SCENE)
        for v in range(versions):
            view = augment_sensor(cube, rng) if augment and v > 0 and cube.shape[2] >= 48 else cube
            view = np.where(valid[..., None], view, 0.0)
            view, implanted = implant(view, valid, rng, foreign)
            scenes.append(prepare_scene(np.where(valid[..., None], view, np.nan), name=f"{name}#{v}", pseudo=pseudo,
                                        policy=policy, implanted=implanted, keep_cube=False,
                                        pseudo_positives=pseudo_positives, negative=negative))
            if progress is not None:
                progress("prepare", len(scenes), total)
    return scenes
