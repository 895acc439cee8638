"""Errors of result verification: a result file that cannot be fingerprinted, a suite that cannot run."""

from neurolink.errors import ExitCode, NeuroLinkError


class VerificationError(NeuroLinkError):
    """Root of the verification package's failures."""


class FingerprintError(VerificationError):
    """A result file is not a well-formed safetensors or JSON result, so it has no fingerprint."""

    exit_code = ExitCode.INVALID_INPUT


class SuiteError(VerificationError):
    """The determinism suite could not run on the device asked for."""

    exit_code = ExitCode.UNAVAILABLE
