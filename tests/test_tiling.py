import numpy as np
import pytest

from hadinfer.errors import ParameterError
from hadinfer.tiling import aligned_tile_shape, count_tiles, tile_windows


@pytest.mark.parametrize("shape,tile,halo", [((10, 10), 3, 0), ((37, 53), (8, 16), 5), ((5, 5), 64, 10),
                                              ((100, 7), 1, 2)])
def test_cores_partition_image_and_reads_cover_halo(shape, tile, halo):
    tiles = tile_windows(shape, tile, halo=halo)
    covered = np.zeros(shape, int)
    for t in tiles:
        covered[t.row_off:t.row_off + t.height, t.col_off:t.col_off + t.width] += 1
        assert t.read_row_off == max(0, t.row_off - halo)
        assert t.read_row_off + t.read_height == min(shape[0], t.row_off + t.height + halo)
        assert t.read_col_off + t.read_width == min(shape[1], t.col_off + t.width + halo)
        rows, cols = t.core_in_read
        assert rows.stop - rows.start == t.height and cols.stop - cols.start == t.width
    assert (covered == 1).all()
    assert len(tiles) == count_tiles(shape, (tile, tile) if isinstance(tile, int) else tile)


def test_area_smaller_than_one_tile_gives_one_clipped_tile():
    (t,) = tile_windows((5, 7), 64, halo=10)
    assert (t.height, t.width, t.read_height, t.read_width) == (5, 7, 5, 7)


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
