"""The explorer's errors: one root under CoordinatorError, a subclass per way it fails."""

from coordinator.errors import CoordinatorError
from neurolink.errors import ExitCode


class ExplorerError(CoordinatorError):
    """Root of every error the explorer raises on purpose."""


class ExplorerConfigError(ExplorerError):
    """The explorer's settings (database URL, addresses) are unusable."""

    exit_code = ExitCode.INVALID_INPUT


class ExplorerDatabaseError(ExplorerError):
    """The database cannot be reached, or belongs to another chain or deployment."""

    exit_code = ExitCode.UNAVAILABLE
