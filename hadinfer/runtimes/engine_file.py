"""hadinfer's TensorRT engine file: its metadata travels inside it, in front of the serialized engine.

Layout: the magic line ``HADINFER-TRT-ENGINE 1\\n``, the metadata's length as an 8-byte
little-endian unsigned integer, the metadata as UTF-8 JSON, then TensorRT's serialized
engine.  A runtime is chosen from these bytes, never from a file beside the engine.
"""

from __future__ import annotations

import json
import struct

from ..errors import ModelFileError, one_line

MAGIC = b"HADINFER-TRT-ENGINE 1\n"
_LENGTH = struct.Struct("<Q")


def pack_engine(metadata: dict, engine: bytes) -> bytes:
    """The file's bytes for ``engine`` with ``metadata`` (JSON-serialisable)."""
    header = json.dumps(metadata, sort_keys=True).encode()
    return MAGIC + _LENGTH.pack(len(header)) + header + bytes(engine)


def is_engine(head: bytes) -> bool:
    """Whether a file's first bytes are those of a hadinfer engine file."""
    return head.startswith(MAGIC)


def read_engine_file(path: str) -> tuple[dict, bytes]:
    """Metadata and serialized engine of an engine file.

    Raises
    ------
    ModelFileError
        Not an engine file, truncated, or metadata that is not a JSON object.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if not is_engine(data):
        raise ModelFileError(f"{path}: not a hadinfer TensorRT engine (build one with hadinfer export --engine)")
    start = len(MAGIC) + _LENGTH.size
    if len(data) < start:
        raise ModelFileError(f"{path}: truncated engine file")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    if start + length > len(data):
        raise ModelFileError(f"{path}: truncated engine file ({len(data)} bytes, header says more)")
    try:
        metadata = json.loads(data[start:start + length].decode())
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both are
        raise ModelFileError(f"{path}: the engine's metadata is not JSON ({one_line(exc)})") from exc
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: the engine's metadata is not a JSON object")
    engine = data[start + length:]
    if not engine:
        raise ModelFileError(f"{path}: the file holds metadata but no engine")
    return metadata, engine
