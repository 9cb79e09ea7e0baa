"""Export of trained detectors to ONNX models and TensorRT engines (installed as ``hadinfer.export``).

``hadinfer export`` uses it; the runtime only reads what it writes
(:mod:`hadinfer.runtimes`).  ``op_support/`` holds the operator lists of ONNX Runtime's
CUDA provider and TensorRT's ONNX parser that exported graphs are checked against.
"""
