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


class UnknownJobError(NodeError):
    """The ledger holds no such job."""

    exit_code = ExitCode.NOT_FOUND


class JobNotQuarantinedError(NodeError):
    """Only a quarantined job can be released; this one is in another phase."""

    exit_code = ExitCode.INVALID_INPUT


class DispatchError(NodeError):
    """A job could not be fetched, run or stored."""


class DeviceClassChangedError(NodeError):
    """This machine's determinism class is not the one the provider registered: it must not claim (an
    `exact` job would be assigned across classes) until it registers again."""

    exit_code = ExitCode.INTEGRITY


class FaultRefusedError(NodeConfigError):
    """Fault injection was asked for on a chain that is not a devnet."""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is an outage that passes (RPC, broker, content store): retried with backoff, never
    counted against a job's retry budget, never a reason to give a job up."""
    from neurolink.chain.errors import (
        ArtifactNotFoundError,
        ChainError,
        DeploymentNotFoundError,
        DeploymentRefusedError,
        TransactionRevertedError,
    )
    from neurolink.content.errors import ContentUnavailableError

    if isinstance(exc, ChainError):
        final = (TransactionRevertedError, ArtifactNotFoundError, DeploymentNotFoundError)
        return not isinstance(exc, (*final, DeploymentRefusedError))
    if isinstance(exc, ContentUnavailableError | OSError | TimeoutError):
        return True
    from kombu.exceptions import OperationalError

    return isinstance(exc, OperationalError)
