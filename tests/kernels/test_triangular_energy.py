"""The triangular energy: the same norms as the dense projection, the same bits whatever the rows or layout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadinfer.kernels import triangular_energy as module
from hadinfer.kernels.triangular_energy import energy_factor, triangular_energy


@settings(max_examples=40, deadline=None)
@given(bands=st.integers(1, 24), rank=st.integers(0, 30), seed=st.integers(0, 2**16))
def test_the_factor_is_lower_triangular_and_keeps_every_norm(bands, rank, seed):
    rng = np.random.default_rng(seed)
    projection = rng.normal(size=(bands, rank)) * rng.uniform(0.01, 100, size=rank)
    factor = energy_factor(projection)
    assert factor.shape == (bands, bands) and factor.flags.f_contiguous
    assert not np.triu(factor, 1).any()
    x = rng.normal(size=(7, bands))
    expected = ((x @ projection) ** 2).sum(axis=1)
    np.testing.assert_allclose(((x @ factor) ** 2).sum(axis=1), expected, rtol=1e-9, atol=1e-12 * expected.max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blas", [True, False], ids=["scipy-trmm", "numpy-dense"])
def test_the_energy_equals_the_dense_definition(dtype, blas, monkeypatch):
    if blas:
        pytest.importorskip("scipy")
    else:
        monkeypatch.setattr(module, "_trmm", lambda dtype: None)
    rng = np.random.default_rng(3)
    block = rng.normal(size=(501, 40)).astype(dtype)
    projection = rng.normal(size=(40, 33)) / 10
    expected = ((block.astype(np.float64) @ projection) ** 2).sum(axis=1)
    got = triangular_energy(block.copy(), energy_factor(projection.astype(dtype)))
    assert got.dtype == dtype and got.shape == (501,)
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_a_rows_energy_does_not_depend_on_the_other_rows_or_the_layout():
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(4096, 200)).astype(np.float32)
    factor = energy_factor((rng.normal(size=(200, 200)) / 20).astype(np.float32))
    whole = triangular_energy(rows.copy(order="F"), factor)  # copies: the product overwrites its input
    for start, stop in ((0, 1), (5, 17), (100, 613), (3000, 4096)):
        column_major = triangular_energy(rows[start:stop].copy(order="F"), factor)
        row_major = triangular_energy(rows[start:stop].copy(order="C"), factor)
        strided = triangular_energy(rows.copy(order="F")[start:stop], factor)  # a view, not contiguous
        for part in (column_major, row_major, strided):
            assert part.tobytes() == whole[start:stop].tobytes()


def test_a_read_only_block_is_left_as_it_was():
    rng = np.random.default_rng(5)
    block = np.asfortranarray(rng.normal(size=(300, 12)).astype(np.float32))
    block.flags.writeable = False
    before = block.copy()
    factor = energy_factor(rng.normal(size=(12, 12)).astype(np.float32))
    got = triangular_energy(block, factor)
    assert np.array_equal(block, before)
    np.testing.assert_allclose(got, ((before.astype(np.float64) @ factor) ** 2).sum(axis=1), rtol=1e-5)



def test_a_blas_of_another_calling_convention_is_not_called(monkeypatch):
    pytest.importorskip("scipy")
    import ctypes

    from scipy.linalg import cython_blas

    new_capsule = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)(
        ("PyCapsule_New", ctypes.pythonapi))
    name = b"void (char *, char *, char *, char *, long *, long *, float *, float *, long *, float *, long *)"
    monkeypatch.setitem(cython_blas.__pyx_capi__, "strmm", new_capsule(1, name, None))  # never called
    module._trmm.cache_clear()
    try:
        assert module._trmm(np.dtype(np.float32)) is None  # NumPy's dense product instead
    finally:
        monkeypatch.undo()
        module._trmm.cache_clear()
    assert module._trmm(np.dtype(np.float32)) is not None
