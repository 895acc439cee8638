"""Output helpers shared by command groups: `--json` for scripts, rich text for people."""

import json
from typing import Any

import typer

JsonOption = typer.Option(False, "--json", help="Print one JSON object for scripts.")


def emit(data: dict[str, Any], as_json: bool, text: str | None = None) -> None:
    """Print `data` as one JSON line, or `text` (default: key: value lines) for people."""
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True, default=str))
    elif text is not None:
        typer.echo(text)
    else:
        for key, value in data.items():
            typer.echo(f"{key}: {value}")
