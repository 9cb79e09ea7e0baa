"""Names and versions of model file formats, and the first check every model file passes (no heavy imports)."""

from __future__ import annotations

import hashlib
import os

from ..errors import InputNotFoundError, ModelFileError

ONNX_FORMAT = "hadinfer-onnx"
ONNX_FORMAT_VERSION = 1


def check_model_path(path) -> str:
    """Refuse a model path that is missing or is not a regular file, before any library opens it.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    str
        ``path`` as a string.

    Raises
    ------
    InputNotFoundError
        Nothing is there.
    ModelFileError
        It is a folder (or another non-file, e.g. a FIFO that would block a reader).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a folder, not a model file (name the .pt, .onnx or engine file in it)")
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: is not a regular file, not a model file")
    return path


def file_sha256(path) -> str | None:
    """Hex SHA-256 of a file (read in 1 MiB chunks), or None when it cannot be read."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(2**20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
