"""PyTorch arrays: a GPU whose float32 products would run in TF32 is reported, never silently used."""

import logging

import pytest

torch = pytest.importorskip("torch", reason="the PyTorch array library needs torch (extra 'torch')")

from hadinfer.arrays.torch_arrays import TorchArrays  # noqa: E402


@pytest.fixture
def fake_gpu(monkeypatch):
    """torch says it sees one CUDA GPU (nothing is ever moved to it here)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.mark.parametrize("tf32", [True, False])
def test_tf32_products_on_a_gpu_are_warned_about(fake_gpu, tf32, caplog):
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        with caplog.at_level(logging.WARNING, logger="hadinfer.arrays.torch_arrays"):
            arrays = TorchArrays("cuda:0")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    assert arrays.device == "cuda:0"
    warned = [r.getMessage() for r in caplog.records if "TF32" in r.getMessage()]
    assert bool(warned) == tf32
    if tf32:
        assert "'highest'" in warned[0] and "cuda:0" in warned[0]


def test_the_cpu_is_never_warned_about(caplog):
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with caplog.at_level(logging.WARNING, logger="hadinfer.arrays.torch_arrays"):
            TorchArrays("cpu")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    assert not caplog.records
