"""Export of trained detectors to ONNX and TensorRT (installed as ``hadinfer.export``).

Not built yet: see the export issue. Nothing here is imported by the runtime.
"""
