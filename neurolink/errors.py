"""The root exception of the shared core and the exit codes the CLI maps errors to."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the `neurolink` command; scripts may branch on them."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INVALID_INPUT = 3
    REVERTED = 4
    NOT_FOUND = 5
    UNAVAILABLE = 6
    INTEGRITY = 7
    TIMEOUT = 8


class NeuroLinkError(Exception):
    """Root of every error NeuroLink raises on purpose; carries the CLI exit code."""

    exit_code: ExitCode = ExitCode.FAILURE


class ConfigError(NeuroLinkError):
    """The configuration file or environment holds an invalid value."""

    exit_code = ExitCode.INVALID_INPUT


class CompilerError(NeuroLinkError):
    """The Solidity compiler rejected the sources or could not be run."""

    exit_code = ExitCode.INVALID_INPUT


class VettingError(NeuroLinkError):
    """A job input fails the static checks a provider runs before executing it.

    `code` matches the worker's error code for the same refusal; `field` says where: the input's
    name, then (inside a .pt2 archive) the member and the JSON path of the offending value.
    """

    code = "InvalidJob"
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, detail: str, *, field: str = "") -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail)

    def __str__(self) -> str:
        where = f" at {self.field}" if self.field else ""
        return f"{type(self).__name__}{where}: {self.detail}"


class DevnetError(NeuroLinkError):
    """The local devnet (anvil) could not be started, reached or stopped."""

    exit_code = ExitCode.UNAVAILABLE


class InvalidArgumentError(NeuroLinkError):
    """A command-line argument is malformed (an address, an amount, a file); checked before connecting."""

    exit_code = ExitCode.INVALID_INPUT
