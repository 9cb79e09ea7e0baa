"""Input policies: channels, stored metadata, and maps that do not depend on the tile."""

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import ModelFileError
from hadinfer.models.input_policy import POLICY, POLICY_EVIDENCE, InputPolicy

EVIDENCE = InputPolicy(4, ((3, 7), (5, 11)), 3)


def test_channels_halo_and_metadata_round_trip():
    assert InputPolicy(16).channels == 17 and InputPolicy(16).halo == 0 and InputPolicy(16).name == POLICY
    assert EVIDENCE.channels == 7 and EVIDENCE.halo == 5 and EVIDENCE.name == POLICY_EVIDENCE
    assert InputPolicy.from_metadata(EVIDENCE.metadata(), 7) == EVIDENCE
    assert InputPolicy.from_metadata(InputPolicy(16).metadata(), 17) == InputPolicy(16)


@pytest.mark.parametrize("meta, channels, match", [
    ({"policy": "other"}, 17, "unknown input policy"),
    ({"policy": POLICY_EVIDENCE, "components": 4}, 7, "malformed"),
    (InputPolicy(16).metadata(), 18, "channels"),
])
def test_bad_policies_are_model_file_errors(meta, channels, match):
    with pytest.raises(ModelFileError, match=match):
        InputPolicy.from_metadata(meta, channels)


def test_evidence_channels_are_global_then_local_rx_ratios(small_cube):
    cube = small_cube.astype(np.float64)
    valid = np.ones(cube.shape[:2], bool)
    inputs = EVIDENCE.fit(hadinfer.BackgroundStats(12).update(cube.reshape(-1, 12))).features(cube, valid)
    assert inputs.shape == (40, 36, 7) and inputs.dtype == np.float32
    grx = hadinfer.GlobalRX().fit_score(cube) / 12
    np.testing.assert_allclose(inputs[..., 4], grx, rtol=1e-4)
    lrx = hadinfer.LocalRX(5, 11, n_components=3).fit_score(cube) / 3
    np.testing.assert_allclose(inputs[..., 6], lrx, rtol=1e-4)


def test_evidence_network_map_does_not_depend_on_the_tile_size(small_cube):
    torch = pytest.importorskip("torch", reason="the network needs torch (extra 'torch')")
    from hadinfer.detectors.network import NetworkDetector
    from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig

    torch.manual_seed(0)
    model = AnomalyFCN(NetworkConfig(in_channels=EVIDENCE.channels, width=8)).eval()
    detector = NetworkDetector.from_torch(model, {"input": EVIDENCE.metadata()})
    assert detector.halo == model.config.receptive_radius + EVIDENCE.halo
    whole = hadinfer.detect(small_cube, detector=detector, device="cpu", tile_size=64).scores
    tiled = hadinfer.detect(small_cube, detector=detector, device="cpu", tile_size=8).scores
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-6)


def test_local_channels_come_from_the_float32_components_of_the_whole_window(small_cube):
    # The local channels are ring RX of the leading components as the pointwise channels
    # form them (float32 centring and projection of every pixel of the window), so a pixel's
    # components do not depend on whether it lies in a tile's core or its halo.
    from hadinfer.arrays import NumpyArrays
    from hadinfer.kernels.ring_sums import REGULARIZATION, ring_rx

    cube = small_cube.astype(np.float64)
    valid = np.ones(cube.shape[:2], bool)
    valid[3, 4] = False
    cube[3, 4] = 0.0
    inputs = EVIDENCE.fit(hadinfer.BackgroundStats(12).update(cube.reshape(-1, 12)))
    region = (slice(5, 30), slice(6, 33))
    got = inputs.features(cube, valid, region)
    z = ((cube.reshape(-1, 12) - inputs.mean).astype(np.float32) @ inputs._local_projection32).astype(np.float64)
    z = z.reshape(cube.shape[:2] + (-1,)) * valid[..., None]
    expected = ring_rx(NumpyArrays(), z, valid.astype(np.float64), valid, EVIDENCE.lrx_windows, REGULARIZATION, region)
    for channel, scores in zip((5, 6), expected):
        keep = valid[region]
        # float64 components would differ by about 4e-7 here
        np.testing.assert_allclose(got[..., channel][keep], (scores[keep] / 3).astype(np.float32), rtol=1e-7)


@pytest.mark.parametrize("dtype", [np.int16, np.float64])
def test_pytorch_arrays_compute_the_input_on_their_device_from_the_raw_window(small_cube, dtype):
    # On a GPU the centring and both projections run there too: only the raw window (in its
    # own dtype), its mask and the parameters travel, and the input is the host's to float32
    # rounding (the float32 products' summation order differs between BLAS libraries).
    pytest.importorskip("torch", reason="PyTorch arrays (extra 'torch')")
    from hadinfer.arrays.torch_arrays import TorchArrays

    cube = (small_cube * 7).astype(dtype)
    valid = np.ones(cube.shape[:2], bool)
    valid[3, 4] = False
    cube[3, 4] = 0
    inputs = EVIDENCE.fit(hadinfer.BackgroundStats(12).update(cube.reshape(-1, 12)[valid.reshape(-1)]))
    region = (slice(5, 30), slice(6, 33))
    arrays = TorchArrays("cpu")
    on_device = inputs.features(cube, valid, region, arrays)
    on_host = inputs.features(cube, valid, region)
    parameters = inputs._projection32.nbytes + inputs._local_projection32.nbytes + 3 * 12 * 8
    assert arrays.bytes_to_device <= cube.nbytes + valid.size * 8 + parameters
    assert on_device.dtype == np.float32 and on_device.shape == on_host.shape
    np.testing.assert_allclose(on_device, on_host, rtol=2e-5, atol=1e-6 * np.abs(on_host).max())
