import numpy as np
import pytest

from hadinfer.errors import ParameterError
from hadinfer.kernels.whitening import whitening_basis


def test_pseudo_inverse_matches_numpy_pinv_on_rank_deficient_cov():
    rng = np.random.default_rng(1)
    pixels = rng.normal(size=(5, 8))  # fewer pixels than bands: rank 4
    pixels[:, 3] = 7.0  # a constant band
    cov = np.cov(pixels, rowvar=False)
    basis, values = whitening_basis(cov)
    projection = basis / np.sqrt(values)
    np.testing.assert_allclose(projection @ projection.T, np.linalg.pinv(cov, hermitian=True), atol=1e-8)


def test_shrinkage_range_checked():
    with pytest.raises(ParameterError, match="shrinkage"):
        whitening_basis(np.eye(3), shrinkage=2.0)
