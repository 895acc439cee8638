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


class DevnetError(NeuroLinkError):
    """The local devnet (anvil) could not be started, reached or stopped."""

    exit_code = ExitCode.UNAVAILABLE


class InvalidArgumentError(NeuroLinkError):
    """A command-line argument is malformed (an address, an amount, a file); checked before connecting."""

    exit_code = ExitCode.INVALID_INPUT
