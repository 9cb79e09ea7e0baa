"""The kernels' fixtures: each test that asks for ``kernel_path`` runs with NumPy, then compiled."""

import pytest

from hadinfer.kernels.compiled import compiled_kernels


@pytest.fixture(params=["numpy", "compiled"])
def kernel_path(request, monkeypatch):
    """Run a test with the NumPy kernels, then with the compiled ones (extra ``fast``)."""
    if request.param == "compiled":
        pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    monkeypatch.setenv("HADINFER_COMPILED", "1" if request.param == "compiled" else "0")
    assert compiled_kernels() == (request.param == "compiled")
    return request.param
