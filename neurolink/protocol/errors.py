"""Errors of the protocol helpers: invalid job parameters, malformed digests and salts."""

from neurolink.errors import ExitCode, NeuroLinkError


class ProtocolError(NeuroLinkError):
    """Root of protocol-helper failures."""


class InvalidJobParamsError(ProtocolError):
    """Job parameters the JobMarket would reject (checked before sending a transaction)."""

    exit_code = ExitCode.INVALID_INPUT


class InvalidDigestError(ProtocolError):
    """A digest or salt that is not 32 bytes (or not hex, when given as text)."""

    exit_code = ExitCode.INVALID_INPUT


class NotDrawnError(ProtocolError):
    """The provider is drawn for no free slot of the job now (eligibility widens over the claim window)."""
