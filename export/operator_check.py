"""An exported graph's operators against the checked-in lists of what GPU runtimes implement.

``op_support/ort_cuda_ep.txt`` lists the ai.onnx operators ONNX Runtime's CUDA provider
has kernels for (others fall back to the CPU, with copies around them);
``op_support/tensorrt_onnx_parser.txt`` lists those TensorRT's ONNX parser supports.
Both are read from the projects' operator tables; their headers say which version.
"""

from __future__ import annotations

from pathlib import Path

_LISTS = Path(__file__).resolve().parent / "op_support"

#: list name -> file
SUPPORT_LISTS = {"onnxruntime-cuda": "ort_cuda_ep.txt", "tensorrt": "tensorrt_onnx_parser.txt"}


def supported_operators(name: str) -> frozenset[str]:
    """Operator names in a checked-in list (``onnxruntime-cuda`` or ``tensorrt``)."""
    lines = (_LISTS / SUPPORT_LISTS[name]).read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def graph_operators(onnx_path) -> set[str]:
    """Operators of the default (ai.onnx) domain in a model, functions included."""
    import onnx

    proto = onnx.load(str(onnx_path))
    nodes = list(proto.graph.node) + [node for function in proto.functions for node in function.node]
    local = {function.name for function in proto.functions}
    return {node.op_type for node in nodes if node.domain in ("", "ai.onnx") and node.op_type not in local}


def unsupported_operators(onnx_path, name: str) -> list[str]:
    """Operators of ``onnx_path`` that the runtime ``name`` lacks, sorted (empty: it runs whole on the GPU)."""
    return sorted(graph_operators(onnx_path) - supported_operators(name))
