"""Arguments given as one integer or a pair of them: tile sizes, shapes, window widths.

One parser, so that every such argument accepts the same forms (an int, numpy
ints, a tuple, a list, a 1-D array) and refuses the same ones (bools, floats,
strings, the wrong length) with a :class:`~hadinfer.errors.ParameterError` that
names the argument.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["as_pair", "is_int"]


def is_int(value) -> bool:
    """Whether ``value`` is an integer, Python or numpy, and not a bool.

    Examples
    --------
    >>> is_int(3), is_int(np.uint16(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def as_pair(value, name: str, *, minimum: int = 1, scalar: bool = True,
            labels: tuple[str, str] = ("rows", "cols")) -> tuple[int, int]:
    """Read an argument given as one integer or a pair of integers.

    Parameters
    ----------
    value : int or sequence of two ints
        A single integer stands for ``(value, value)``.  A pair is any iterable
        of two integers other than a string: a tuple, a list, a 1-D array.
    name : str
        The argument's name, which starts the error message.
    minimum : int, default 1
        Smallest value accepted for each of the two.
    scalar : bool, default True
        Accept a single integer.  False for arguments with no natural square
        form, such as the shape of a scene.
    labels : (str, str), default ("rows", "cols")
        What the two values are, for the error message.

    Returns
    -------
    (int, int)
        Python ints, each ``>= minimum``.

    Raises
    ------
    ParameterError
        If ``value`` is not an integer (when ``scalar``) or an iterable of two
        integers, if an integer is a bool or below ``minimum``.  The message
        starts with ``name``.

    Examples
    --------
    >>> as_pair(64, "tile_size")
    (64, 64)
    >>> as_pair([128, np.int64(256)], "tile_size")
    (128, 256)
    >>> as_pair(0, "halo", minimum=0)
    (0, 0)
    >>> as_pair((4, 0), "tile_size")
    Traceback (most recent call last):
        ...
    hadinfer.errors.ParameterError: tile_size: expected a positive int or (rows, cols), got (4, 0)
    >>> as_pair(10, "scene_shape", scalar=False)
    Traceback (most recent call last):
        ...
    hadinfer.errors.ParameterError: scene_shape: expected (rows, cols) of positive ints, got 10
    """
    if is_int(value):
        pair = (value, value) if scalar else None
    elif isinstance(value, (str, bytes)):
        pair = None
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = None
    if pair is None or len(pair) != 2 or not all(is_int(v) and v >= minimum for v in pair):
        first, second = labels
        if minimum == 1:
            one, many = "a positive int", "positive ints"
        else:
            one, many = f"an int >= {minimum}", f"ints >= {minimum}"
        wanted = f"{one} or ({first}, {second})" if scalar else f"({first}, {second}) of {many}"
        raise ParameterError(f"{name}: expected {wanted}, got {value!r}")
    return int(pair[0]), int(pair[1])
