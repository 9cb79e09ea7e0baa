"""hadinfer.pairs.as_pair: the one parser of scalar-or-pair arguments."""

import numpy as np
import pytest

from hadinfer.errors import HadinferError, ParameterError
from hadinfer.pairs import as_pair, is_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, (5, 5)),
        (np.int32(7), (7, 7)),
        ((3, 4), (3, 4)),
        ([3, 4], (3, 4)),
        (np.array([3, 4]), (3, 4)),
        ((np.uint16(2), 9), (2, 9)),
        (range(1, 3), (1, 2)),
    ],
)
def test_accepts_a_scalar_or_a_pair(value, expected):
    pair = as_pair(value, "tile_size")
    assert pair == expected and all(type(v) is int for v in pair)


@pytest.mark.parametrize(
    "value",
    [
        (4,),
        (4, 4, 4),
        [],
        2.5,
        (2.0, 3),
        "64",
        "ab",
        b"\x01\x02",
        None,
        True,
        (True, 3),
        (4, np.bool_(True)),
        np.array(5),
        np.ones((2, 2), int),
        0,
        -3,
        (4, 0),
        (-1, 4),
    ],
)
def test_refuses_anything_else_naming_the_argument(value):
    with pytest.raises(ParameterError, match=r"^tile_size: expected a positive int or \(rows, cols\), got"):
        as_pair(value, "tile_size")


def test_minimum():
    assert as_pair(0, "halo", minimum=0) == (0, 0)
    assert as_pair((3, 5), "window", minimum=3) == (3, 5)
    with pytest.raises(ParameterError, match=r"halo: expected an int >= 0 or \(rows, cols\), got -1"):
        as_pair(-1, "halo", minimum=0)
    with pytest.raises(ParameterError, match=r"window: expected an int >= 3"):
        as_pair((3, 2), "window", minimum=3)


def test_pair_only():
    assert as_pair((2, 3), "scene_shape", scalar=False) == (2, 3)
    for value in (10, np.int64(10), (10,), (10, 0)):
        with pytest.raises(ParameterError, match=r"^scene_shape: expected \(rows, cols\) of positive ints, got"):
            as_pair(value, "scene_shape", scalar=False)


def test_labels_word_the_message():
    with pytest.raises(ParameterError, match=r"window: expected \(inner, outer\) of positive ints, got \(3,\)"):
        as_pair((3,), "window", scalar=False, labels=("inner", "outer"))


def test_error_is_a_hadinfer_and_a_value_error():
    with pytest.raises(HadinferError):
        as_pair(0, "tile_size")
    with pytest.raises(ValueError):
        as_pair(0, "tile_size")


def test_is_int():
    assert is_int(3) and is_int(np.int8(-1)) and is_int(np.uint64(2))
    assert not any(is_int(v) for v in (True, np.bool_(False), 3.0, "3", None, np.array(3)))
