"""Where a keystore password comes from: a file, the NEUROLINK_PASSWORD variable, or a prompt."""

import os
import sys
from collections.abc import Callable
from pathlib import Path

from neurolink.accounts.errors import InvalidPasswordError, PasswordUnavailableError

PASSWORD_ENV = "NEUROLINK_PASSWORD"


def read_password(
    password_file: Path | None = None,
    *,
    confirm: bool = False,
    prompt: Callable[[str, bool], str] | None = None,
) -> str:
    """The password from `password_file` (first line), else $NEUROLINK_PASSWORD, else a prompt."""
    if password_file is not None:
        try:
            text = password_file.read_text()
        except OSError as exc:
            raise InvalidPasswordError(f"cannot read password file {password_file}: {exc.strerror}") from exc
        # A trailing newline is what `echo pw > file` writes; it is not part of the password.
        password = text.splitlines()[0] if text else ""
    elif (env := os.environ.pop(PASSWORD_ENV, None)) is not None:
        # Read once, then gone: no child process (a worker, a job) can inherit it.
        password = env
    elif prompt is not None:
        password = prompt("Keystore password", confirm)
    elif sys.stdin.isatty():
        import typer

        password = str(typer.prompt("Keystore password", hide_input=True, confirmation_prompt=confirm))
    else:
        raise PasswordUnavailableError(
            f"no password: pass --password-file, set {PASSWORD_ENV}, or run on a terminal"
        )
    if not password:
        raise InvalidPasswordError("the keystore password must not be empty")
    return password
