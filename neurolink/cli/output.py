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


def tokens(units: int, decimals: int = 18, symbol: str = "NRL") -> str:
    """A token amount for people: `units` of 10**-decimals, exactly, with its symbol."""
    from decimal import Decimal

    text = format(Decimal(units).scaleb(-decimals).normalize(), "f")
    return f"{text} {symbol}"


def when(timestamp: int) -> str:
    """A Unix time for people: the UTC date and time (0 reads as never)."""
    from datetime import UTC, datetime

    if timestamp <= 0:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
