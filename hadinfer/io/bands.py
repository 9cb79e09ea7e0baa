"""Band selection: ``--bands`` specs, ENVI bad-band lists, and band centre wavelengths.

Wavelengths are nanometres everywhere in hadinfer: whatever unit a header or a GDAL
metadata item states is converted on reading (:func:`wavelengths_to_nm`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import BandSelectionError

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_WAVELENGTH_RANGE = re.compile(rf"^\s*{_NUMBER}\s*-\s*{_NUMBER}\s*$")


def parse_band_spec(spec: str, count: int) -> list[int]:
    """Parse a 1-based band selection such as ``"1-100,120-200"``.

    Parameters
    ----------
    spec : str
        Comma-separated single bands (``"7"``) and inclusive ranges (``"1-100"``).
    count : int
        Number of bands in the raster; every band must lie in ``1..count``.

    Returns
    -------
    list of int
        Sorted, de-duplicated 1-based band numbers.

    Raises
    ------
    BandSelectionError
        If the spec is malformed, a range is reversed, or a band is out of range.

    Examples
    --------
    >>> parse_band_spec("1-3,5", 10)
    [1, 2, 3, 5]
    """
    bands: set[int] = set()
    for part in spec.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise BandSelectionError(f"--bands: cannot parse {part.strip()!r} in {spec!r} (use e.g. 1-100,120-200)")
        try:
            first = int(match.group(1))
            last = int(match.group(2) or first)
        except ValueError:  # more digits than int() converts (4300): far beyond any raster
            raise BandSelectionError(f"--bands: {part.strip()[:20]!r}... is outside the raster's bands 1-{count}") \
                from None
        if last < first:
            raise BandSelectionError(f"--bands: range {part.strip()!r} is reversed")
        if first < 1 or last > count:
            raise BandSelectionError(f"--bands: {part.strip()!r} is outside the raster's bands 1-{count}")
        bands.update(range(first, last + 1))
    return sorted(bands)


def format_band_spec(bands: Iterable[int]) -> str:
    """Write 1-based band numbers as the shortest ``--bands`` spec, e.g. ``"1-3,7"``.

    Parameters
    ----------
    bands : iterable of int
        Band numbers, in any order, repeats allowed.

    Returns
    -------
    str
        Sorted inclusive ranges; ``""`` when ``bands`` is empty.  :func:`parse_band_spec`
        reads it back to the same sorted, de-duplicated bands.

    Examples
    --------
    >>> format_band_spec([7, 1, 2, 3, 3])
    '1-3,7'
    """
    parts: list[str] = []
    start = prev = None
    for band in sorted(set(bands)):
        if start is None:
            start = prev = band
        elif band == prev + 1:
            prev = band
        else:
            parts.append(f"{start}-{prev}" if prev > start else f"{start}")
            start = prev = band
    if start is not None:
        parts.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ",".join(parts)


def _envi_header(path: str | Path) -> Path | None:
    """The ENVI header of a data file (``scene.hdr`` or ``scene.img.hdr``), or the header itself."""
    path = Path(path)
    candidates = [path] if path.suffix.lower() == ".hdr" else [path.with_suffix(".hdr"), Path(str(path) + ".hdr")]
    return next((header for header in candidates if header.is_file()), None)


def envi_header_field(text: str, name: str) -> str | None:
    """The value of ``name`` in ENVI header ``text``: a ``{...}`` list's inside, or the rest of the line.

    Parameters
    ----------
    text : str
        The header.
    name : str
        Field name, case-insensitive; spaces match any run of blanks
        (``"wavelength units"``).

    Returns
    -------
    str or None
        ``None`` when the header has no such field.

    Examples
    --------
    >>> envi_header_field("ENVI\\nwavelength units = nm\\nwavelength = {400,\\n 500}\\n", "wavelength")
    '400,\\n 500'
    """
    pattern = r"\s+".join(re.escape(word) for word in name.split())
    match = re.search(rf"^[ \t]*{pattern}[ \t]*=[ \t]*(?:\{{([^}}]*)\}}|([^\n]*))", text,
                      flags=re.MULTILINE | re.IGNORECASE)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2).strip()


def envi_list(value: str) -> list[str]:
    """Split an ENVI ``{a, b, c}`` list (braces optional) into its stripped items."""
    return [item.strip() for item in value.strip().strip("{}").replace("\n", " ").split(",") if item.strip()]


def read_envi_bbl(path: str | Path) -> list[bool] | None:
    """Read the bad-band list (``bbl``) of an ENVI header next to ``path``.

    Parameters
    ----------
    path : str or Path
        The ENVI data file (``scene.img``, ``scene``) or its header (``scene.hdr``).

    Returns
    -------
    list of bool or None
        ``True`` for a good band, ``False`` for a bad one; ``None`` when there is no
        header or it has no ``bbl`` entry.
    """
    header = _envi_header(path)
    if header is None:
        return None
    value = envi_header_field(header.read_text(errors="replace"), "bbl")
    return None if value is None else [float(v) != 0 for v in envi_list(value)]


#: Nanometres per unit, by the names ENVI headers and GDAL metadata use (lower case).
_NM_PER_UNIT = {
    **dict.fromkeys(("nm", "nanometer", "nanometers", "nanometre", "nanometres"), 1.0),
    **dict.fromkeys(("um", "\u00b5m", "\u03bcm", "micrometer", "micrometers", "micrometre", "micrometres",
                     "micron", "microns"), 1e3),
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"), 1e6),
    **dict.fromkeys(("cm", "centimeter", "centimeters", "centimetre", "centimetres"), 1e7),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), 1e9),
    **dict.fromkeys(("angstrom", "angstroms", "a"), 0.1),
}
_UNSTATED_UNITS = ("", "unknown")


def wavelengths_to_nm(values: Sequence[str | float], units: str | None) -> tuple[float, ...] | None:
    """Convert band centre wavelengths to nanometres.

    Parameters
    ----------
    values : sequence of str or float
        One centre wavelength per band, as numbers or numeric text.
    units : str or None
        Their unit as a header states it (``"Nanometers"``, ``"um"``, ``"Micrometers"``,
        ...), case-insensitive.  When it is missing or ``"Unknown"``, values all below
        100 are taken as micrometres and others as nanometres: no imaging spectrometer
        has a band centre under 100 nm or above 100 um.

    Returns
    -------
    tuple of float or None
        Nanometres, rounded to 1e-6 nm so that, e.g., 1.34 um is exactly 1340 nm and
        an inclusive range ending at 1340 keeps it.  ``None`` when the unit is not a
        length (``Index``, ``GHz``, ``Wavenumber``) or a value is not a positive finite
        number (headers write 0 or -1 for "unknown").

    Examples
    --------
    >>> wavelengths_to_nm(["0.4", "1.34"], "Micrometers")
    (400.0, 1340.0)
    >>> wavelengths_to_nm([450.5, 550.0], None)
    (450.5, 550.0)
    >>> wavelengths_to_nm([1, 2], "Index") is None
    True
    """
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    if not numbers or not all(math.isfinite(v) and v > 0 for v in numbers):
        return None
    unit = (units or "").strip().lower()
    if unit in _UNSTATED_UNITS:
        factor = 1e3 if max(numbers) < 100 else 1.0
        log.debug("wavelength units not stated: read as %s", "micrometres" if factor == 1e3 else "nanometres")
    elif unit in _NM_PER_UNIT:
        factor = _NM_PER_UNIT[unit]
    else:
        return None
    return tuple(round(v * factor, 6) for v in numbers)


def read_envi_wavelengths(path: str | Path) -> tuple[float, ...] | None:
    """Read band centre wavelengths (nm) from the ENVI header next to ``path``.

    Parameters
    ----------
    path : str or Path
        The ENVI data file or its header.

    Returns
    -------
    tuple of float or None
        The ``wavelength`` list converted from ``wavelength units`` (see
        :func:`wavelengths_to_nm`); ``None`` without a header, a ``wavelength`` field,
        or a usable unit.
    """
    header = _envi_header(path)
    if header is None:
        return None
    text = header.read_text(errors="replace")
    value = envi_header_field(text, "wavelength")
    if value is None:
        return None
    return wavelengths_to_nm(envi_list(value), envi_header_field(text, "wavelength units"))


def parse_wavelength_ranges(spec: str | Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Parse nanometre ranges such as ``"400-1340,1450-1790"`` (inclusive).

    Parameters
    ----------
    spec : str or sequence of (float, float)
        Comma-separated ``LOW-HIGH`` ranges in nanometres (decimals allowed), or the
        (low, high) pairs themselves.

    Returns
    -------
    list of (float, float)
        The ranges in the order given.

    Raises
    ------
    BandSelectionError
        If the spec is malformed or empty, a range is reversed, negative or not
        finite, or a part is a single number (a band centre rarely equals a round
        number; write a range such as ``540-560``).

    Examples
    --------
    >>> parse_wavelength_ranges("400-1340, 1450.5-1790")
    [(400.0, 1340.0), (1450.5, 1790.0)]
    """
    if isinstance(spec, str):
        ranges = []
        for part in spec.split(","):
            match = _WAVELENGTH_RANGE.match(part)
            if match is None:
                hint = (f"{part.strip()!r} is one wavelength; give a range such as 540-560"
                        if re.fullmatch(rf"\s*{_NUMBER}\s*", part) else f"cannot parse {part.strip()!r} in {spec!r}")
                raise BandSelectionError(f"--wavelengths: {hint} (use nanometre ranges, e.g. 400-1340,1450-1790)")
            ranges.append((float(match.group(1)), float(match.group(2))))
    else:
        try:
            ranges = [(float(low), float(high)) for low, high in spec]
        except (TypeError, ValueError):
            raise BandSelectionError(f"--wavelengths: expected (low, high) pairs in nanometres, got {spec!r}") \
                from None
    if not ranges:
        raise BandSelectionError("--wavelengths: no range given (use e.g. 400-1340,1450-1790)")
    for low, high in ranges:
        if not (math.isfinite(low) and math.isfinite(high)) or low < 0:
            raise BandSelectionError(f"--wavelengths: {low:g}-{high:g} is not a range of positive nanometres")
        if high < low:
            raise BandSelectionError(f"--wavelengths: range {low:g}-{high:g} is reversed")
    return ranges


def bands_in_wavelength_ranges(wavelengths: Sequence[float], ranges: Sequence[tuple[float, float]]) -> list[int]:
    """The bands whose centre wavelength lies in any of ``ranges``.

    Parameters
    ----------
    wavelengths : sequence of float
        Centre wavelength of each band of the raster, in nm (band 1 first).
    ranges : sequence of (float, float)
        Inclusive (low, high) ranges in nm, as :func:`parse_wavelength_ranges` returns.

    Returns
    -------
    list of int
        Sorted 1-based band numbers; a band is chosen once however many ranges hold it.

    Notes
    -----
    Pure: no I/O, no rounding (:func:`wavelengths_to_nm` rounds on reading), so the
    result depends only on the numbers given.

    Examples
    --------
    >>> bands_in_wavelength_ranges([400.0, 500.0, 1400.0, 1500.0], [(400, 1340), (1450, 1790)])
    [1, 2, 4]
    """
    return [band for band, nm in enumerate(wavelengths, 1) if any(low <= nm <= high for low, high in ranges)]


def select_bands(count: int, spec: str | None, good: list[bool] | None, *,
                 wavelengths: Sequence[float] | None = None,
                 wavelength_ranges: str | Sequence[tuple[float, float]] | None = None) -> list[int]:
    """Combine a user band spec, wavelength ranges and a bad-band list.

    Parameters
    ----------
    count : int
        Bands in the raster.
    spec : str or None
        ``--bands`` value; ``None`` selects every band.
    good : list of bool or None
        Bad-band list (``True`` = usable), e.g. from :func:`read_envi_bbl`.
    wavelengths : sequence of float, optional
        Centre wavelength (nm) of each of the ``count`` bands.
    wavelength_ranges : str or sequence of (float, float), optional
        ``--wavelengths`` value (see :func:`parse_wavelength_ranges`): keep only the
        bands whose centre lies in one of them.  With ``spec`` too, a band must
        satisfy both.

    Returns
    -------
    list of int
        1-based band numbers to read.

    Raises
    ------
    BandSelectionError
        If the bad-band or wavelength list length disagrees with the raster,
        ``wavelength_ranges`` is given without ``wavelengths`` or selects no band, or
        nothing is left.

    Examples
    --------
    >>> select_bands(4, None, [True, True, False, True], wavelengths=[400, 500, 600, 700],
    ...              wavelength_ranges="450-650")
    [2]
    """
    bands = parse_band_spec(spec, count) if spec else list(range(1, count + 1))
    if wavelength_ranges is not None:
        ranges = parse_wavelength_ranges(wavelength_ranges)
        if wavelengths is None:
            raise BandSelectionError("--wavelengths: the raster's bands have no wavelengths; use --bands")
        if len(wavelengths) != count:
            raise BandSelectionError(f"wavelength list has {len(wavelengths)} entries but the raster has {count} bands")
        inside = set(bands_in_wavelength_ranges(wavelengths, ranges))
        if not inside:
            shown = ",".join(f"{low:g}-{high:g}" for low, high in ranges)
            raise BandSelectionError(f"--wavelengths {shown}: no band centre lies in these ranges (the bands span "
                                     f"{min(wavelengths):g}-{max(wavelengths):g} nm)")
        bands = [b for b in bands if b in inside]
    if good is not None:
        if len(good) != count:
            raise BandSelectionError(f"bad-band list has {len(good)} entries but the raster has {count} bands")
        bands = [b for b in bands if good[b - 1]]
    if not bands:
        what = "--bands, --wavelengths" if wavelength_ranges is not None else "--bands"
        raise BandSelectionError(f"no band left after applying {what} and the bad-band list")
    return bands
