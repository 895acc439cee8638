"""The `neurolink` entry point: gathers command groups and maps errors to exit codes."""

import json
import os
import sys
import traceback
from importlib.metadata import entry_points

import typer

# Typer vendors click; its usage errors are instances of this class, not of an installed click's.
from typer._click.exceptions import BadParameter, ClickException, MissingParameter

from neurolink import __version__
from neurolink.errors import ExitCode, NeuroLinkError

app = typer.Typer(
    name="neurolink",
    help="NeuroLink: a decentralized GPU compute network coordinated by Ethereum contracts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neurolink {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """NeuroLink: a decentralized GPU compute network coordinated by Ethereum contracts."""


def _register_groups() -> None:
    # Groups are entry points so `node` and `coordinator` plug in without the core importing them.
    groups: dict[str, typer.Typer] = {}
    for ep in sorted(entry_points(group="neurolink.commands"), key=lambda e: e.name):
        groups[ep.name] = ep.load()
        app.add_typer(groups[ep.name], name=ep.name)
    for ep in sorted(entry_points(group="neurolink.subcommands"), key=lambda e: e.name):
        group, _, command = ep.name.partition(".")
        if group in groups:
            groups[group].command(name=command)(ep.load())


_register_groups()


def _fail(message: str, code: int, kind: str, as_json: bool) -> None:
    """One line on stderr; under --json also one JSON object on stdout, for the script that asked."""
    if as_json:
        typer.echo(json.dumps({"error": {"message": message, "exit_code": code, "type": kind}}))
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    sys.exit(code)


def main() -> None:
    """Run the CLI; every error becomes one line on stderr (and JSON under --json) and its exit code."""
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except NeuroLinkError as exc:
        _fail(str(exc), int(exc.exit_code), type(exc).__name__, as_json)
    except ClickException as exc:
        # A value the parser refused (out of range, wrong type) is bad input; a missing or unknown
        # argument is a usage error.
        bad_value = isinstance(exc, BadParameter) and not isinstance(exc, MissingParameter)
        code = int(ExitCode.INVALID_INPUT) if bad_value else exc.exit_code
        if not as_json:
            exc.show()
            sys.exit(code)
        _fail(exc.format_message(), code, type(exc).__name__, as_json)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except Exception as exc:
        # A bug, not bad input: still one line, with the traceback only on request.
        if os.environ.get("NEUROLINK_DEBUG"):
            traceback.print_exc()
        hint = "" if os.environ.get("NEUROLINK_DEBUG") else " (set NEUROLINK_DEBUG=1 for the traceback)"
        message = f"unexpected {type(exc).__name__}: {exc}{hint}"
        _fail(message, int(ExitCode.FAILURE), "InternalError", as_json)
    sys.exit(code if isinstance(code, int) else int(ExitCode.OK))
