"""Names and versions of model file formats (no heavy imports)."""

ONNX_FORMAT = "hadinfer-onnx"
ONNX_FORMAT_VERSION = 1
