"""``hadinfer detect``'s detector options, built from the detector registry (one source of truth)."""

from __future__ import annotations

import click

from ..arrays import check_device
from ..detectors import registry
from ..errors import ParameterError
from .options import FiniteFloatRange, WindowType

#: How each registry option kind is parsed on the command line.
_CLICK_TYPES = {
    "int>=0": click.IntRange(min=0),
    "float>=0": FiniteFloatRange(min=0),  # click.FloatRange lets NaN through
    "fraction": FiniteFloatRange(0, 1),
    "int": int,
    "window": WindowType(),
    "path": click.Path(dir_okay=False),
}


def _click_type(option: registry.Option):
    return click.Choice(list(option.choices)) if option.kind == "choice" else _CLICK_TYPES[option.kind]


def detector_help() -> str:
    """``--detector`` help: every registered detector and its one-line summary."""
    entries = registry.registered()
    return "; ".join(f"{name}: {entry.summary}" for name, entry in entries.items() if name != "model") + \
        "; or a model file (checkpoint .pt, .onnx, engine)."


def detector_metavar() -> str:
    """``fusion|grx|...|MODEL``."""
    return "|".join(name for name in registry.registered() if name != "model") + "|MODEL"


def detector_options(command):
    """Add one click option per registry option; they default to unset (the detector's own default)."""
    for option in reversed(registry.OPTIONS.values()):
        command = click.option(option.flag, option.dest, type=_click_type(option), default=None,
                               help=option.help)(command)
    return command


def detector_choice(ctx: click.Context, detector: str) -> registry.DetectorChoice:
    """The run's one resolution of ``--detector``, with the factory parameters of the options set on the command
    line (:func:`hadinfer.detectors.registry.choose`).

    Raises
    ------
    click.BadParameter
        An option set that the chosen detector does not take (never dropped silently).
    ParameterError
        An unknown detector name.
    """
    choice = registry.choose(detector)
    chosen = choice.entry
    params = {}
    for name, option in registry.OPTIONS.items():
        value = ctx.params.get(option.dest)
        if value is None:
            continue
        if name not in chosen.options:
            takers = [n for n, e in registry.registered().items() if name in e.options]
            raise click.BadParameter(f"applies to {', '.join(takers)}, not to {chosen.name}", param_hint=option.flag)
        params.update(option.to_params(value))
    return choice.with_params(**params)


class DeviceType(click.ParamType):
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""

    name = "auto|cpu|cuda[:N]"

    def convert(self, value, param, ctx):
        try:
            return check_device(value)
        except ParameterError as exc:
            self.fail(str(exc).removeprefix("device: "), param, ctx)
