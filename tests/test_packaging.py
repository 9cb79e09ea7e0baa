"""What a plain ``pip install .`` (not editable) ships: every folder of the package's code."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_folder_of_code_is_a_listed_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    roots = {name: ROOT / folder for name, folder in setuptools["package-dir"].items()}
    expected = set()
    for name, folder in roots.items():
        for code in folder.rglob("*.py"):
            if "__pycache__" not in code.parts:
                parts = code.parent.relative_to(folder).parts
                expected.add(".".join((name, *parts)))
    assert len(expected) > 10
    assert expected <= listed, f"not shipped by a plain install: {sorted(expected - listed)}"
