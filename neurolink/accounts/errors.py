"""Errors of the keystore: missing or duplicate keys, wrong passwords, no password source."""

from neurolink.errors import ExitCode, NeuroLinkError


class AccountError(NeuroLinkError):
    """Root of keystore and password failures."""


class KeystoreNotFoundError(AccountError):
    """No keystore file holds the requested address."""

    exit_code = ExitCode.NOT_FOUND


class KeystoreExistsError(AccountError):
    """A keystore for this address is already in the keystore folder."""

    exit_code = ExitCode.INVALID_INPUT


class AmbiguousAccountError(AccountError):
    """Several keystores exist and none was named."""

    exit_code = ExitCode.USAGE


class WrongPasswordError(AccountError):
    """The password does not decrypt the keystore (MAC mismatch)."""

    exit_code = ExitCode.INVALID_INPUT


class InvalidKeyError(AccountError):
    """An imported private key is not 32 bytes of hex, or a keystore file is not keystore v3 JSON."""

    exit_code = ExitCode.INVALID_INPUT


class PasswordUnavailableError(AccountError):
    """No password file, no NEUROLINK_PASSWORD and no terminal to prompt on."""

    exit_code = ExitCode.USAGE


class InvalidPasswordError(AccountError):
    """A password file cannot be read, or the password given is empty."""

    exit_code = ExitCode.INVALID_INPUT


class AccountInUseError(AccountError):
    """Another process holds the account's lock: two signers would race for its nonces."""

    exit_code = ExitCode.UNAVAILABLE
