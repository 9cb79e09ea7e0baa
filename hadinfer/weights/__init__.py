"""Models shipped inside the package; ``MODEL_CARD.md`` beside them says how each was made.

>>> shipped_model("general").suffix
'.onnx'
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError

_HERE = Path(__file__).resolve().parent

#: detector name -> (ONNX model, the checkpoint it was exported from)
SHIPPED = {"general": ("general-v3.onnx", "general-v3.pt"),
           # a NumPy weights file is both what runs and what re-exports (hadinfer.models.feature_model)
           "learned": ("learned-v3.npz", "learned-v3.npz")}


def shipped_model(name: str = "general", *, checkpoint: bool = False) -> Path:
    """Path of a shipped model.

    Parameters
    ----------
    name : str
        A key of :data:`SHIPPED`.
    checkpoint : bool
        The PyTorch checkpoint instead of the ONNX model (for ``--runtime torch`` and
        re-export, e.g. to FP16).

    Raises
    ------
    ParameterError
        Unknown name.
    """
    if name not in SHIPPED:
        raise ParameterError(f"shipped model: unknown {name!r} (choose from {', '.join(SHIPPED)})")
    return _HERE / SHIPPED[name][1 if checkpoint else 0]
