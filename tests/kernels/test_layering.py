"""The kernels sit below detectors and models: they import neither."""

import ast
from pathlib import Path

import hadinfer.kernels


def test_the_kernels_import_nothing_from_detectors_or_models():
    folder = Path(hadinfer.kernels.__file__).parent
    imports = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imports.append((path.name, node.level, node.module))
            elif isinstance(node, ast.Import):
                imports += [(path.name, 0, alias.name) for alias in node.names]
    assert len(imports) > 5
    assert not [i for i in imports if upward(*i[1:])], imports


def upward(level: int, module: str) -> bool:
    """Whether an import (relative ``level``, ``module``) from inside hadinfer/kernels reaches detectors or models."""
    parts = module.split(".")
    package = parts[0] if level == 2 else parts[1] if parts[0] == "hadinfer" and len(parts) > 1 else None
    return package in ("detectors", "models")


def test_the_layering_check_sees_an_upward_import():
    assert upward(2, "detectors.base") and upward(0, "hadinfer.models.feature_model")
    assert not upward(1, "statistics") and not upward(2, "arrays") and not upward(0, "numpy")
