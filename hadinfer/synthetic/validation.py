"""Checks of the synthetic scene's integer arguments, shared by the model and the writer."""

from __future__ import annotations

from ..errors import ParameterError
from ..pairs import is_int


def positive_int(value, name: str) -> int:
    """``value`` as an int > 0 (numpy ints too, bools not), else a ParameterError naming ``name``.

    Examples
    --------
    >>> positive_int(3, "bands")
    3
    >>> positive_int(2.0, "bands")
    Traceback (most recent call last):
        ...
    hadinfer.errors.ParameterError: bands: expected a positive int, got 2.0
    """
    if not is_int(value) or value < 1:
        raise ParameterError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    """``value`` as an int >= 0 (numpy ints too, bools not), else a ParameterError naming ``name``.

    Examples
    --------
    >>> non_negative_int(0, "seed")
    0
    >>> non_negative_int(-1, "seed")
    Traceback (most recent call last):
        ...
    hadinfer.errors.ParameterError: seed: expected an int >= 0, got -1
    """
    if not is_int(value) or value < 0:
        raise ParameterError(f"{name}: expected an int >= 0, got {value!r}")
    return int(value)
