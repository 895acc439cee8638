"""Encrypted keystore v3 files (eth-account) in one folder, created 0600 and never logged."""

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink.accounts.errors import (
    AmbiguousAccountError,
    InvalidKeyError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    WrongPasswordError,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

# eth-account's default scrypt cost (n = 2**18), the same as geth's "standard" keystores.
STANDARD_SCRYPT_N = 2**18


@dataclass(frozen=True)
class KeystoreEntry:
    """One keystore file: its checksummed address and where it lies."""

    address: str
    path: Path


class Keystore:
    """The keystore folder: create, import, list and unlock accounts."""

    def __init__(self, directory: Path, *, scrypt_n: int = STANDARD_SCRYPT_N) -> None:
        self.directory = directory
        # Tests lower the cost; operators keep the standard one.
        self.scrypt_n = scrypt_n

    def new(self, password: str) -> KeystoreEntry:
        """Create a fresh random key and store it encrypted."""
        from eth_account import Account

        account = Account.create()
        return self._write(account.key, password)

    def import_key(self, private_key: str, password: str) -> KeystoreEntry:
        """Store an existing hex private key (with or without 0x) encrypted."""
        text = private_key.strip().removeprefix("0x")
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise InvalidKeyError("a private key is 64 hex characters (optionally 0x-prefixed)") from None
        if len(key) != 32:
            raise InvalidKeyError(f"a private key is 32 bytes, got {len(key)}")
        return self._write(key, password)

    def import_file(self, path: Path, password: str) -> KeystoreEntry:
        """Copy a keystore v3 file in after checking that `password` unlocks it."""
        data = self._read_json(path)
        return self._write(self._decrypt(data, password, path), password)

    def list(self) -> list[KeystoreEntry]:
        if not self.directory.is_dir():
            return []
        entries = []
        for path in sorted(self.directory.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                try:
                    data = self._read_json(path)
                except InvalidKeyError:
                    continue
                entries.append(KeystoreEntry(_checksum(str(data.get("address", ""))), path))
        return entries

    def find(self, address: str | None = None) -> KeystoreEntry:
        """The entry for `address`, or the only entry when `address` is None."""
        entries = self.list()
        if address is None:
            if len(entries) == 1:
                return entries[0]
            if not entries:
                raise KeystoreNotFoundError(f"no keystore in {self.directory}: run `neurolink account new`")
            raise AmbiguousAccountError(
                f"{len(entries)} keystores in {self.directory}: name one with --account"
            )
        wanted = _checksum(address)
        for entry in entries:
            if entry.address == wanted:
                return entry
        raise KeystoreNotFoundError(f"no keystore for {wanted} in {self.directory}")

    def unlock(self, address: str | None, password: str) -> "LocalAccount":
        """Decrypt the keystore of `address` (or the only one) into a signing account."""
        from eth_account import Account

        entry = self.find(address)
        key = self._decrypt(self._read_json(entry.path), password, entry.path)
        account: LocalAccount = Account.from_key(key)
        return account

    def _write(self, key: bytes, password: str) -> KeystoreEntry:
        from eth_account import Account

        address = Account.from_key(key).address
        if any(e.address == address for e in self.list()):
            raise KeystoreExistsError(f"{address} is already in {self.directory}")
        data = Account.encrypt(key, password, kdf="scrypt", iterations=self.scrypt_n)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime())
        path = self.directory / f"UTC--{stamp}--{address[2:].lower()}.json"
        # O_EXCL + 0600 from the first byte: the file is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        return KeystoreEntry(address, path)

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidKeyError(f"{path} is not a keystore v3 JSON file: {exc}") from exc
        if not isinstance(data, dict) or data.get("version") != 3 or "crypto" not in data:
            raise InvalidKeyError(f"{path} is not a keystore v3 JSON file")
        return data

    @staticmethod
    def _decrypt(data: dict[str, Any], password: str, path: Path) -> bytes:
        from eth_account import Account

        try:
            return bytes(Account.decrypt(data, password))
        except ValueError as exc:
            # eth-keyfile says "MAC mismatch" for a wrong password; keep the key material out of messages.
            if "MAC mismatch" in str(exc):
                raise WrongPasswordError(f"wrong password for {path.name}") from exc
            raise InvalidKeyError(f"{path.name}: malformed keystore v3 crypto section") from exc
        except (TypeError, KeyError, AttributeError, NotImplementedError) as exc:
            # eth-keyfile indexes the crypto section without checking it (a string, a missing kdf).
            raise InvalidKeyError(f"{path.name}: malformed keystore v3 crypto section") from exc


def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    text = address if address.startswith("0x") else "0x" + address
    try:
        return str(to_checksum_address(text))
    except ValueError:
        raise InvalidKeyError(f"not an address: {address!r}") from None
