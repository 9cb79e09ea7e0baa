"""Running the CLI in-process and reading its one error line (shared by the CLI tests)."""

from click.testing import CliRunner

from hadinfer.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result):
    """The ``Error:`` line of a click error (usage errors print the usage above it)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]
