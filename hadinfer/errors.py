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


def one_line(exc: BaseException) -> str:
    """A library's error message on one line, whole (its later lines often hold the actual reason)."""
    return " ".join(str(exc).split()) or type(exc).__name__
