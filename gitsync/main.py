"""The ``gitsync`` command line: the only module that knows click."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from gitsync import __version__
from gitsync.errors import GitsyncError

EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitsync")
def cli() -> None:
    """GitOps for model-serving configs: validate, diff and apply Ray Serve configs from git."""


@cli.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--root", help="Snapshot root for relative working_dir paths when files are given.")
def validate(paths: tuple[str, ...], output: str, root: str | None) -> None:
    """Validate config files, directories, or - for stdin."""
    from gitsync.commands.validate import validate as run

    sys.exit(run(paths, output=output, root=root))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors become one line on stderr and an exit code."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="gitsync",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except GitsyncError as exc:
        click.echo(f"gitsync: error: {exc.message}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
