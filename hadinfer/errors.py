"""One error hierarchy for hadinfer.

Every error the package raises on purpose derives from :class:`HadinferError` and
also from the builtin that describes it best, so ``except FileNotFoundError``
keeps working for callers who do not know hadinfer.  Messages are one line and
name the offending file, argument or value.  Nothing here imports click: the CLI
maps these to exit codes in one place (``hadinfer.cli.main``).
"""


class HadinferError(Exception):
    """Base class of every error hadinfer raises on purpose."""


class InputNotFoundError(HadinferError, FileNotFoundError):
    """An input file does not exist."""


class NotARasterError(HadinferError, ValueError):
    """A file exists but is not a raster (or cube) hadinfer can read."""


class RasterReadError(HadinferError, OSError):
    """A raster opened but its pixels could not be read (e.g. a truncated TIFF)."""


class MatKeyError(HadinferError, LookupError):
    """A MATLAB file lacks the requested variable, or no cube could be found in it."""


class BandSelectionError(HadinferError, ValueError):
    """A band selection is malformed or names bands outside the raster."""


class AllNodataError(HadinferError, ValueError):
    """Every pixel of the scene is nodata or not finite: there is nothing to score."""


class WindowTooLargeError(HadinferError, ValueError):
    """A detector window does not fit inside the image."""


class ParameterError(HadinferError, ValueError):
    """A detector, tiling or evaluation parameter is invalid."""


class ValueRangeError(HadinferError, ValueError):
    """Pixel values outside what the statistics can hold: squares that overflow or underflow float64."""


class OutputExistsError(HadinferError, FileExistsError):
    """The output exists and ``overwrite`` was not requested."""


class OutputPathError(HadinferError, OSError):
    """The output cannot be written there (missing folder, no permission, same as input)."""


class DeviceUnavailableError(HadinferError, RuntimeError):
    """A device (e.g. ``cuda``) was requested but is not available."""


class MissingDependencyError(HadinferError, ImportError):
    """An optional runtime is needed but not installed; the message names the pip extra."""


class ModelFileError(HadinferError, ValueError):
    """A model file is corrupt, of an unsupported format version, or does not fit the input."""


class ClusterError(HadinferError, RuntimeError):
    """A Dask cluster could not be reached, or its workers kept dying on a task."""


class FileAccessError(HadinferError, OSError):
    """The system refused to read or write a file (its reason: permission, full disk, ...)."""


class LibraryError(HadinferError, RuntimeError):
    """A library hadinfer calls (GDAL through rasterio, the ONNX exporter) failed where hadinfer did not expect it.

    Made by :func:`wrap_library_error`, so the message is the library's reason on one
    line, prefixed with what failed (``GDAL: ...``).
    """


#: Modules whose exceptions are a library's verdict on the data or the system, not a
#: hadinfer bug, and the name the message gives them.  Matched by module name, so this
#: file imports none of them.
_LIBRARIES = {"rasterio": "GDAL", "fiona": "GDAL", "pyogrio": "GDAL", "onnxscript": "ONNX export",
              "onnx": "ONNX", "onnxruntime": "ONNX Runtime", "tensorrt": "TensorRT"}


def library_message(exc: BaseException) -> str:
    """The library's own reason for ``exc``, on one line.

    rasterio's "Read failed. See previous exception for details." hides GDAL's actual
    message in the exception's cause: the cause is used then.
    """
    seen = set()
    while "previous exception" in str(exc) and exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return one_line(exc)


def wrap_library_error(exc: BaseException) -> HadinferError | None:
    """A one-line :class:`HadinferError` for a library's or the system's error, or None for a bug.

    Parameters
    ----------
    exc : BaseException
        What escaped a command.

    Returns
    -------
    HadinferError or None
        :class:`LibraryError` for GDAL/rasterio (``CPLE_*`` included), ONNX and
        TensorRT errors; :class:`FileAccessError` for an :class:`OSError` that names a
        file (a disk that filled, a permission); a UTF-8 message for a file name that
        is not valid UTF-8; ``None`` for anything else (a bug: the caller reports it as
        one).
    """
    if isinstance(exc, HadinferError):
        return exc
    module = type(exc).__module__.split(".")[0]
    if module in _LIBRARIES:
        return LibraryError(f"{_LIBRARIES[module]}: {library_message(exc)}")
    if isinstance(exc, UnicodeEncodeError) and exc.reason == "surrogates not allowed":
        return ParameterError("a file name is not valid UTF-8, which GDAL cannot take; rename it")
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return FileAccessError(f"{exc.filename}: {exc.strerror}")
    return None


def one_line(exc: BaseException) -> str:
    """A library's error message on one line, whole (its later lines often hold the actual reason)."""
    return " ".join(str(exc).split()) or type(exc).__name__
