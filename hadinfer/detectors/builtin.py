"""The detectors hadinfer ships: classical RX, the shipped deep model, and any model file."""

from __future__ import annotations

from .fusion_area import FusionArea
from .fusion_peaks import FusionPeaks
from .fusion_rx import FusionRX
from .global_rx import GlobalRX
from .learned_features import LearnedFeatureRX
from .local_rx import LocalRX
from .network import NetworkDetector
from .registry import DetectorEntry, register

def open_general(runtime: str = "auto") -> NetworkDetector:
    """The shipped deep model (``hadinfer/weights/MODEL_CARD.md``).

    Parameters
    ----------
    runtime : {"auto", "onnxruntime", "torch"}
        ``auto`` and ``onnxruntime`` run the shipped ONNX model, ``torch`` its checkpoint.
        No TensorRT engine is shipped (engines are built for one GPU and TensorRT
        version: ``hadinfer export --engine``).
    """
    from ..errors import ParameterError
    from ..runtimes import open_runtime
    from ..weights import shipped_model

    if runtime == "tensorrt":
        raise ParameterError("runtime: no TensorRT engine is shipped; build one for your GPU with "
                             "hadinfer export hadinfer/weights/general-v3.pt -o g.onnx --engine g.engine")
    model = shipped_model("general", checkpoint=runtime == "torch")
    return NetworkDetector(open_runtime(model, runtime), name="general")


def open_model_file(path, runtime: str = "auto") -> NetworkDetector:
    """A detector for a model file: checkpoint, ONNX model or engine (see :func:`hadinfer.runtimes.open_runtime`)."""
    from ..runtimes import open_runtime

    return NetworkDetector(open_runtime(path, runtime), name="model")


def _shipped_files(params: dict) -> tuple:
    from ..weights import shipped_model

    return shipped_model("general"), shipped_model("general", checkpoint=True)


def _model_file(params: dict) -> tuple:
    return (params["path"],)


def _feature_model_files(params: dict) -> tuple:
    from ..weights import shipped_model

    return (params.get("model") or shipped_model("learned"),)


for _entry in (
    DetectorEntry("fusion", "global RX and local RX at two window pairs, geometric mean (no training)", FusionRX,
                  options=("pca", "regularization")),
    DetectorEntry("fusion-area", "fusion and small objects in its 3 leading components (area openings and "
                  "closings), geometric mean, no training: 0.993 vs fusion 0.980 on 7 unseen files of whole objects, "
                  "but 0.015-0.028 below fusion on implanted sub-pixel targets", FusionArea,
                  options=("pca", "regularization", "area"), extra="area", modules=("skimage",)),
    DetectorEntry("fusion-peaks", "fusion over the square root of its own area opening (its small peaks rise), no "
                  "training: 0.981 vs fusion 0.980 on 7 unseen files, 0.003-0.007 above fusion on implanted sub-pixel "
                  "targets (fusion-area is better on whole objects)", FusionPeaks,
                  options=("pca", "regularization", "area"), extra="area", modules=("skimage",)),
    DetectorEntry("learned", "fusion on the spectra and on learned spectral features, geometric mean (0.985 vs "
                  "fusion 0.980 on 7 unseen files, the gain all on one background, 0.001 below fusion on the "
                  "other five; about 1.4x its time)", LearnedFeatureRX,
                  options=("pca", "regularization", "feature_model"), model_files=_feature_model_files,
                  band_centres=True),
    DetectorEntry("grx", "global RX", GlobalRX, options=("shrinkage", "precision")),
    DetectorEntry("lrx", "dual-window local RX", LocalRX, options=("window", "pca", "regularization")),
    DetectorEntry("general", "the shipped deep model (ONNX Runtime; --runtime torch for PyTorch); below the default "
                  "on unseen scenes (0.931 vs fusion 0.969 on 12 external scenes)", open_general,
                  options=("runtime",), extra="onnx", modules=("onnxruntime",),
                  model_files=_shipped_files),
    DetectorEntry("model", "a model file: checkpoint (.pt), ONNX model or TensorRT engine", open_model_file,
                  options=("runtime",), model_files=_model_file),
):
    register(_entry)
