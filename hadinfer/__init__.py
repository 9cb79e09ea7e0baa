"""hadinfer: hyperspectral anomaly detection, streamed tile by tile.

Quick use
---------
>>> import hadinfer                                              # doctest: +SKIP
>>> result = hadinfer.detect("scene.tif", "map.tif", detector="grx")  # doctest: +SKIP
>>> hadinfer.evaluate("map.tif", "truth.tif")["auc_df"]          # doctest: +SKIP

Only numpy, rasterio and click are imported here; torch, onnxruntime and tensorrt
load lazily inside the runtimes and array libraries that need them.
"""

from .api import DetectionResult, detect, evaluate
from .detectors import BackgroundStats, GlobalRX, LocalRX, make_detector
from .errors import HadinferError
from .io import ArrayScene, open_scene, read_mask
from .process_memory import limit_malloc_arenas

__version__ = "0.1.0"

__all__ = [
    "ArrayScene", "BackgroundStats", "DetectionResult", "GlobalRX", "HadinferError", "LocalRX",
    "__version__", "detect", "evaluate", "limit_malloc_arenas", "make_detector", "open_scene", "read_mask",
]
