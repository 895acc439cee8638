"""Errors of the provider daemon: configuration, ledger, job handling."""

from neurolink.errors import ExitCode, NeuroLinkError


class NodeError(NeuroLinkError):
    """Root of the provider node's failures."""


class NodeConfigError(NodeError):
    """The node configuration (node.toml, env, flags) is invalid or incomplete."""

    exit_code = ExitCode.INVALID_INPUT


class LedgerError(NodeError):
    """The ledger is unreadable or belongs to another chain, contract or account."""

    exit_code = ExitCode.INTEGRITY


class DispatchError(NodeError):
    """A job could not be fetched, run or stored."""
