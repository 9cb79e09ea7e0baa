"""Band selection: parse ``--bands`` specs and ENVI bad-band lists."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BandSelectionError

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


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
    path = Path(path)
    candidates = [path] if path.suffix.lower() == ".hdr" else [
        path.with_suffix(".hdr"), Path(str(path) + ".hdr")]
    for header in candidates:
        if header.is_file():
            text = header.read_text(errors="replace")
            match = re.search(r"^\s*bbl\s*=\s*\{([^}]*)\}", text, flags=re.MULTILINE | re.IGNORECASE)
            if match is None:
                return None
            return [float(v) != 0 for v in match.group(1).replace("\n", " ").split(",") if v.strip()]
    return None


def select_bands(count: int, spec: str | None, good: list[bool] | None) -> list[int]:
    """Combine a user band spec with a bad-band list.

    Parameters
    ----------
    count : int
        Bands in the raster.
    spec : str or None
        ``--bands`` value; ``None`` selects every band.
    good : list of bool or None
        Bad-band list (``True`` = usable), e.g. from :func:`read_envi_bbl`.

    Returns
    -------
    list of int
        1-based band numbers to read.

    Raises
    ------
    BandSelectionError
        If the bad-band list length disagrees with the raster, or nothing is left.
    """
    bands = parse_band_spec(spec, count) if spec else list(range(1, count + 1))
    if good is not None:
        if len(good) != count:
            raise BandSelectionError(f"bad-band list has {len(good)} entries but the raster has {count} bands")
        bands = [b for b in bands if good[b - 1]]
    if not bands:
        raise BandSelectionError("no band left after applying --bands and the bad-band list")
    return bands
