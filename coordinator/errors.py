"""The coordinator's errors: one root under NeuroLinkError, a subclass per way a request fails."""

from neurolink.errors import ExitCode, NeuroLinkError


class CoordinatorError(NeuroLinkError):
    """Root of every error the requester side raises on purpose."""


class PricingError(CoordinatorError):
    """A quote was asked for with inputs the formula cannot price."""

    exit_code = ExitCode.INVALID_INPUT


class JobNotFoundError(CoordinatorError):
    """No job has this id on the deployment's JobMarket."""

    exit_code = ExitCode.NOT_FOUND


class JobWaitTimeoutError(CoordinatorError):
    """A job did not close within the time the caller was willing to wait."""

    exit_code = ExitCode.TIMEOUT


class ResultUnavailableError(CoordinatorError):
    """A job has no result yet, or its result cannot be fetched or does not match its digest."""

    exit_code = ExitCode.NOT_FOUND


class ContentUnreachableError(CoordinatorError):
    """A job's spec or input is not fetchable from any public content source: no job is created."""

    exit_code = ExitCode.NOT_FOUND
