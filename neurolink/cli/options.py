"""Options that many commands share, declared once in a frozen dataclass and handed over bundled."""

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

Command = Callable[..., None]


def bundled(
    name: str, bundle: type[Any], *, only: tuple[str, ...] | None = None
) -> Callable[[Command], Command]:
    """Append `bundle`'s fields (each defaulting to its typer.Option) to a command as trailing options.

    The command declares one keyword parameter `name` and receives them as a `bundle` instance. Typer builds
    the command line from the signature, so the wrapper's signature is the command's own parameters followed
    by the bundle's fields, in field order. `only` offers a subset; a field left out takes its
    option's default.
    """
    hints = get_type_hints(bundle)
    fields = [f for f in dataclasses.fields(bundle) if only is None or f.name in only]
    left_out = {
        f.name: getattr(f.default, "default", None) for f in dataclasses.fields(bundle) if f not in fields
    }

    def decorate(command: Command) -> Command:
        own = inspect.signature(command)
        params = [p for p in own.parameters.values() if p.name != name]
        params += [
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name]
            )
            for f in fields
        ]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            values = {f.name: kwargs.pop(f.name) for f in fields}
            command(**kwargs, **{name: bundle(**values, **left_out)})

        wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{k: v for k, v in get_type_hints(command).items() if k != name},
            **{f.name: hints[f.name] for f in fields},
        }
        return wrapper

    return decorate
