import numpy as np
import pytest

from hadinfer.errors import ParameterError
from hadinfer.models.canonical_spectra import band_positions, resample_matrix


def test_bands_at_their_positions_interpolate_a_spectrum_linear_in_wavelength_exactly():
    centres = np.array([400.0, 410, 420, 430, 700, 1000, 1300, 2400])  # fine, then coarse, then a gap
    spectrum = 3.0 + 0.01 * centres  # linear in wavelength
    grid = np.linspace(400.0, 2400.0, 64)
    placed = spectrum @ resample_matrix(centres.size, 64, band_positions(centres))
    np.testing.assert_allclose(placed, 3.0 + 0.01 * grid, rtol=1e-12)
    even = spectrum @ resample_matrix(centres.size, 64)  # today's default: the same bands evenly spaced
    assert np.abs(even - (3.0 + 0.01 * grid)).max() > 1.0
    np.testing.assert_allclose(resample_matrix(8, 64, np.linspace(0, 1, 8)), resample_matrix(8, 64), atol=1e-15)


def test_band_positions_refuse_what_cannot_place_bands():
    for centres in ([500.0], [500.0, 500.0], [600.0, 500.0, 600.0], [400.0, np.nan]):
        with pytest.raises(ParameterError, match="distinct band centres"):
            band_positions(centres)
    with pytest.raises(ParameterError, match="3 band positions for 4 bands"):
        resample_matrix(4, 64, band_positions([1.0, 2.0, 3.0]))


def test_bands_in_any_order_are_placed_by_wavelength():
    """A file listing its bands from the longest wavelength down gets the same canonical spectra."""
    centres = np.array([400.0, 410, 420, 430, 700, 1000, 1300, 2400])
    spectrum = np.random.default_rng(0).normal(size=centres.size)
    upwards = spectrum @ resample_matrix(centres.size, 64, band_positions(centres))
    downwards = spectrum[::-1] @ resample_matrix(centres.size, 64, band_positions(centres[::-1]))
    shuffle = np.random.default_rng(1).permutation(centres.size)
    shuffled = spectrum[shuffle] @ resample_matrix(centres.size, 64, band_positions(centres[shuffle]))
    np.testing.assert_allclose(downwards, upwards, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(shuffled, upwards, rtol=1e-12, atol=1e-12)
    increasing = resample_matrix(centres.size, 64, band_positions(centres))
    assert np.array_equal(resample_matrix(centres.size, 64, band_positions(centres[::-1])), increasing[::-1])
