"""The one protocol every model runtime follows: open a model file, bind it to one device, run a batch there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arrays import check_device
from ..errors import DeviceUnavailableError, ModelFileError, ParameterError, one_line


@dataclass(frozen=True)
class ShapeProfile:
    """Spatial input sizes a runtime accepts (a TensorRT engine's optimisation profile).

    Attributes
    ----------
    min_side, max_side : int or None
        Smallest and largest rows and columns of one input; ``None`` for no limit.
    max_batch : int or None
        Largest batch.
    """

    min_side: int = 1
    max_side: int | None = None
    max_batch: int | None = None

    def admits(self, rows: int, cols: int, batch: int = 1) -> bool:
        """Whether a (batch, C, rows, cols) input lies inside the profile."""
        sides_ok = all(self.min_side <= s and (self.max_side is None or s <= self.max_side) for s in (rows, cols))
        return sides_ok and 1 <= batch and (self.max_batch is None or batch <= self.max_batch)


class ModelRuntime:
    """Runs a trained network from a model file: PyTorch, ONNX Runtime or TensorRT.

    A runtime is used in two steps.  :meth:`open` checks the whole file and its metadata
    before any pixel is read, and gives a runtime bound to no device (its metadata,
    profile and :meth:`devices` are known).  :meth:`bind` resolves a requested device
    once, by the runtime that will run the network (``auto`` means the best device *this
    runtime* can use, not what PyTorch happens to see), and gives a runtime bound to it,
    holding that device's session, network copy or engine.  :meth:`run` then takes a
    batch and nothing else.  Subclasses implement :meth:`open`, :meth:`devices`,
    :meth:`_bind` and :meth:`run`.

    Attributes
    ----------
    name : str
        ``torch``, ``onnxruntime`` or ``tensorrt``.
    extra : str
        The pip extra that installs it.
    path : str
        The model file.
    metadata : dict
        ``channels`` (int), ``receptive_radius`` (int), ``input_policy`` (dict),
        ``precision`` and provenance, read from the file.
    profile : ShapeProfile
        Input sizes the runtime accepts.
    device : str or None
        ``cpu`` or ``cuda:N`` once bound (:meth:`bind`); ``None`` when just opened.
    """

    name = "?"
    extra = "?"
    path: str
    metadata: dict
    profile = ShapeProfile()
    device: str | None = None

    @classmethod
    def open(cls, path) -> "ModelRuntime":
        """Open and validate a model file; the runtime it gives is bound to no device yet (:meth:`bind`).

        Raises
        ------
        InputNotFoundError, ModelFileError, MissingDependencyError
        """
        raise NotImplementedError

    def devices(self) -> list[str]:
        """Devices this runtime can run the model on here, best first (``cuda:N``..., ``cpu``)."""
        raise NotImplementedError

    def unavailable_reason(self, device: str) -> str:
        """Why ``device`` is not among :meth:`devices` (for the error message)."""
        return f"{self.name} can use {', '.join(self.devices()) or 'no device'} here"

    def resolve_device(self, device: str = "auto") -> str:
        """Turn a requested device into one this runtime will really use.

        Parameters
        ----------
        device : {"auto", "cpu", "cuda", "cuda:N"}
            ``auto``: the first of :meth:`devices`.  ``cuda``: its first GPU.  An explicit
            device it cannot use raises; it never falls back silently.

        Returns
        -------
        str
            ``cpu`` or ``cuda:N``.

        Raises
        ------
        ParameterError
            A malformed device string.
        DeviceUnavailableError
        """
        device = check_device(device)
        usable = self.devices()
        if device == "auto":
            if not usable:
                raise DeviceUnavailableError(f"{self.path}: {self.name} has no usable device here")
            return usable[0]
        if device == "cuda":
            gpus = [d for d in usable if d.startswith("cuda")]
            if gpus:
                return gpus[0]
        elif device in usable:
            return device
        raise DeviceUnavailableError(f"--device {device}: {self.unavailable_reason(device)}")

    def bind(self, device: str = "auto") -> "ModelRuntime":
        """This model bound to one device: the device is resolved here, once.

        Parameters
        ----------
        device : {"auto", "cpu", "cuda", "cuda:N"}
            As :meth:`resolve_device` takes it.

        Returns
        -------
        ModelRuntime
            A runtime of the same kind whose :attr:`device` is ``cpu`` or ``cuda:N`` and whose
            :meth:`run` runs there; ``self`` when it is already bound to that device.  The
            runtime bound is left as it was.

        Raises
        ------
        ParameterError
            A malformed device string.
        DeviceUnavailableError
            The runtime cannot use ``device``.
        ModelFileError
            The model cannot be loaded on that device (e.g. an engine built for another GPU).
        """
        resolved = self.resolve_device(device)
        return self if resolved == self.device else self._bind(resolved)

    def _bind(self, device: str) -> "ModelRuntime":
        """A copy of this runtime bound to ``device`` (already resolved: ``cpu`` or ``cuda:N``)."""
        raise NotImplementedError

    def _check_bound(self) -> None:
        """Refuse to run a runtime that was opened but never bound to a device.

        Raises
        ------
        ParameterError
        """
        if self.device is None:
            raise ParameterError(f"{self.path}: the {self.name} runtime is bound to no device; "
                                 "run the runtime that bind(device) returns")

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run the network on the device the runtime is bound to.

        Parameters
        ----------
        batch : ndarray of float32, shape (N, C, h, w)

        Returns
        -------
        ndarray of float32, shape (N, h, w)
            Logits, on the host.

        Raises
        ------
        ParameterError
            The runtime is bound to no device (:meth:`bind`), or the batch lies outside
            :attr:`profile`.
        ModelFileError
            The runtime failed on the batch.
        """
        raise NotImplementedError

    def describe(self) -> dict:
        """For reports: runtime name, file and precision."""
        return {"runtime": self.name, "model": self.path, "precision": self.metadata.get("precision")}


def check_metadata(meta: dict, where: str) -> dict:
    """Parse the metadata every hadinfer model carries into typed values.

    Parameters
    ----------
    meta : dict
        String values (ONNX ``metadata_props``, an engine header) or already typed ones.
    where : str
        The file, for messages.

    Returns
    -------
    dict
        ``channels`` and ``receptive_radius`` as ints, ``input_policy``, ``network`` and
        ``provenance`` as dicts, other entries as given.

    Raises
    ------
    ModelFileError
    """
    import json

    from ..models.metadata import ONNX_FORMAT, ONNX_FORMAT_VERSION

    if meta.get("hadinfer_format") != ONNX_FORMAT:
        raise ModelFileError(f"{where}: not a hadinfer model (no hadinfer metadata)")
    if str(meta.get("format_version")) != str(ONNX_FORMAT_VERSION):
        raise ModelFileError(f"{where}: model format {meta.get('format_version')} is not supported "
                             f"(this hadinfer reads {ONNX_FORMAT_VERSION})")
    out = dict(meta)
    try:
        for key in ("input_policy", "network", "provenance"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
        out["channels"] = int(meta["channels"])
        out["receptive_radius"] = int(meta["receptive_radius"])
    except KeyError as exc:
        raise ModelFileError(f"{where}: hadinfer metadata lacks {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError too
        raise ModelFileError(f"{where}: malformed hadinfer metadata ({one_line(exc)})") from exc
    if out["channels"] < 1 or out["receptive_radius"] < 0:
        raise ModelFileError(f"{where}: metadata gives {out['channels']} channels and receptive radius "
                             f"{out['receptive_radius']}")
    return out
