"""The content layer's errors: one root, a subclass per way fetching or storing content fails."""

from neurolink.errors import ExitCode, NeuroLinkError


class ContentError(NeuroLinkError):
    """Root of every error raised by `neurolink.content`."""


class InvalidCIDError(ContentError):
    """A string or digest is not a CID this layer accepts (unparsable, not sha2-256, unknown codec)."""

    exit_code = ExitCode.INVALID_INPUT


class ContentNotFoundError(ContentError):
    """The store holds no block for the CID (and, for a daemon, could not find one)."""

    exit_code = ExitCode.NOT_FOUND


class IntegrityError(ContentError):
    """Bytes handed back for a CID do not hash to it, or its DAG is malformed."""

    exit_code = ExitCode.INTEGRITY


class ContentTooLargeError(ContentError):
    """An object exceeds the configured size limit; reading stopped at the limit."""

    exit_code = ExitCode.INVALID_INPUT


class UnsupportedContentError(ContentError):
    """The CID names valid IPFS data that is not a file (a directory, a symlink, a HAMT shard)."""

    exit_code = ExitCode.INVALID_INPUT


class ContentUnavailableError(ContentError):
    """The content backend (the IPFS daemon) cannot be reached or failed, after retries."""

    exit_code = ExitCode.UNAVAILABLE
