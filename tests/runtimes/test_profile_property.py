"""Issue 10: every network input the pipeline produces lies inside the runtime's profile (property test).

Over scene sizes, tile sizes, receptive radii, evidence halos and profiles, the tiles
that :func:`hadinfer.pipeline.plan_tiles` plans and the window
:meth:`NetworkDetector.network_window` cuts from each read window are checked against
the profile, and the window always holds the core plus its receptive radius.
"""

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from hadinfer.detectors.network import NetworkDetector
from hadinfer.pipeline import plan_tiles
from hadinfer.runtimes.base import ShapeProfile


class StubRuntime:
    name = "stub"
    path = "stub.engine"

    def __init__(self, radius, profile):
        self.metadata = {"channels": 5, "receptive_radius": radius, "input_policy": {}}
        self.profile = profile


class StubNetwork(NetworkDetector):
    def __init__(self, runtime, evidence_halo):
        super().__init__(runtime)
        self._evidence_halo = evidence_halo

    @property
    def halo(self):
        return self.receptive_radius + self._evidence_halo


@st.composite
def cases(draw):
    radius = draw(st.integers(0, 12))
    low = draw(st.integers(1, 96))
    high = draw(st.integers(low + 2 * radius + 1, 1100))
    height, width = draw(st.integers(low, 420)), draw(st.integers(low, 420))
    tile = draw(st.integers(8, 1100))
    block = draw(st.sampled_from([(1, width), (16, 16), (128, 128), (height, 1)]))
    return radius, ShapeProfile(low, high, 1), (height, width), tile, block, draw(st.integers(0, 25))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_every_network_input_fits_the_profile(case):
    radius, profile, (height, width), tile_size, block, evidence_halo = case
    detector = StubNetwork(StubRuntime(radius, profile), evidence_halo)
    info = SimpleNamespace(height=height, width=width, block_shape=block)
    _, tiles = plan_tiles(info, detector, tile_size)
    covered = 0
    for tile in tiles:
        rows, cols = detector.network_window(tile.core_in_read, (tile.read.height, tile.read.width))
        assert profile.admits(rows.stop - rows.start, cols.stop - cols.start)
        core_rows, core_cols = tile.core_in_read
        # The core plus the receptive radius (inside the image) is always in the network's view.
        assert rows.start <= max(0, core_rows.start - radius) and rows.stop >= min(tile.read.height,
                                                                                   core_rows.stop + radius)
        assert cols.start <= max(0, core_cols.start - radius) and cols.stop >= min(tile.read.width,
                                                                                   core_cols.stop + radius)
        assert 0 <= rows.start and rows.stop <= tile.read.height and 0 <= cols.start and cols.stop <= tile.read.width
        covered += tile.pixels
    assert covered == height * width
