"""Errors of chain access: unreachable RPC, reverted transactions with decoded custom errors."""

from typing import Any

from neurolink.errors import ExitCode, NeuroLinkError


class ChainError(NeuroLinkError):
    """Root of chain-access failures."""


class RpcUnavailableError(ChainError):
    """The JSON-RPC endpoint did not answer (after retries)."""

    exit_code = ExitCode.UNAVAILABLE


class ArtifactNotFoundError(ChainError):
    """A contract artifact is missing: run `neurolink build`."""

    exit_code = ExitCode.NOT_FOUND


class TransactionRevertedError(ChainError):
    """A call or transaction reverted; `error_name` and `args` hold the decoded custom error."""

    exit_code = ExitCode.REVERTED

    def __init__(
        self,
        message: str,
        *,
        error_name: str | None = None,
        args: dict[str, Any] | None = None,
        data: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = args or {}
        self.data = data


class DeploymentNotFoundError(ChainError):
    """No deployments file names this network, or its contracts have no code on the chain."""

    exit_code = ExitCode.NOT_FOUND


class DeploymentRefusedError(ChainError):
    """A deployment was refused before sending anything: a mainnet without --allow-mainnet, or no consent."""

    exit_code = ExitCode.USAGE


class DeployError(ChainError):
    """A deployment step failed after sending began; the deployments file is not written."""


class TransactionTimeoutError(ChainError):
    """A sent transaction was not mined in time, even after fee bumps."""

    exit_code = ExitCode.TIMEOUT


class InsufficientFundsError(ChainError):
    """The sending account's ETH does not cover a transaction's gas (and value)."""


class NonceConflictError(ChainError):
    """The node says a transaction's nonce is used, but not by that transaction: another signer."""

    exit_code = ExitCode.INTEGRITY
