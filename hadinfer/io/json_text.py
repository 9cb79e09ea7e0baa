"""JSON text any reader takes: NaN and infinities written as ``null``.

Python's :mod:`json` writes ``NaN`` and ``Infinity`` by default, which RFC 8259 has not
got: ``jq``, JavaScript's ``JSON.parse`` and most other readers refuse the whole file
(issue 20).  An AUC of a map without anomalies, a nodata of NaN, an infinite threshold:
each is written as ``null`` ("no number") instead.
"""

from __future__ import annotations

import json
import math

import numpy as np


def finite_json(value):
    """``value`` with every non-finite float as None, NumPy scalars and arrays as Python values.

    Parameters
    ----------
    value : object
        Dicts, lists and tuples are walked; anything else is returned as it is.

    Examples
    --------
    >>> finite_json({"auc": float("nan"), "spectrum": np.array([1.0, np.inf]), "n": np.int64(3)})
    {'auc': None, 'spectrum': [1.0, None], 'n': 3}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):  # np.float32 is no float: json would have called default=str
        return finite_json(value.item())
    if isinstance(value, np.ndarray):
        return finite_json(value.tolist())
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def dumps(payload, **kwargs) -> str:
    """:func:`json.dumps` of :func:`finite_json` (``payload``), refusing any NaN left (``allow_nan=False``)."""
    return json.dumps(finite_json(payload), allow_nan=False, **kwargs)
