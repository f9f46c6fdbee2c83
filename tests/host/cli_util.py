"""The `microace` command run in-process (click's CliRunner), and its rich tables read back."""

from click.testing import CliRunner

from microace_host import cli


def run(*args, columns=250):
    """microace ARGS -> (exit code, stdout, stderr), in a terminal wide enough for the tables."""
    result = CliRunner().invoke(cli.main, list(args), env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def table_rows(out):
    """The rows of the tables printed in `out` -> lists of cell texts."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()
            if line.startswith("│")]
