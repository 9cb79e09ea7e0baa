import numpy as np
import pytest
from rasterio.windows import Window

from hadinfer.errors import ParameterError
from hadinfer.tiling import aligned_tile_shape, count_tiles, tile_windows


@pytest.mark.parametrize("shape,tile,halo", [((10, 10), 3, 0), ((37, 53), (8, 16), 5), ((5, 5), 64, 10),
                                              ((100, 7), 1, 2)])
def test_cores_partition_image_and_reads_cover_halo(shape, tile, halo):
    tiles = tile_windows(shape, tile, halo=halo)
    covered = np.zeros(shape, int)
    for t in tiles:
        covered[t.core.toslices()] += 1
        (core_top, core_bottom), (core_left, core_right) = t.core.toranges()
        (read_top, read_bottom), (read_left, read_right) = t.read.toranges()
        assert (read_top, read_left) == (max(0, core_top - halo), max(0, core_left - halo))
        assert (read_bottom, read_right) == (min(shape[0], core_bottom + halo), min(shape[1], core_right + halo))
        rows, cols = t.core_in_read
        assert rows.stop - rows.start == t.core.height and cols.stop - cols.start == t.core.width
    assert (covered == 1).all()
    assert len(tiles) == count_tiles(shape, (tile, tile) if isinstance(tile, int) else tile)


def test_area_smaller_than_one_tile_gives_one_clipped_tile():
    (t,) = tile_windows((5, 7), 64, halo=10)
    assert t.core == t.read == Window(0, 0, 7, 5)


def test_alignment_rounds_up_to_blocks_but_not_for_strips():
    assert aligned_tile_shape(100, (1000, 1000), (256, 256)) == (256, 256)
    assert aligned_tile_shape(300, (1000, 1000), (256, 256)) == (512, 512)
    assert aligned_tile_shape(100, (1000, 1000), (1, 1000)) == (100, 100)
    assert aligned_tile_shape(100, (50, 1000), (16, 16)) == (50, 112)


@pytest.mark.parametrize("bad", [0, -3, (4,), (4, 0), 2.5])
def test_bad_tile_size_names_the_argument(bad):
    with pytest.raises(ParameterError, match="tile"):
        tile_windows((10, 10), bad)


def test_negative_halo_rejected():
    with pytest.raises(ParameterError, match="halo"):
        tile_windows((10, 10), 4, halo=-1)
