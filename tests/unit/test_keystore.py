"""Keystore v3 files: permissions, round trips, wrong passwords, password sources, the CLI group."""

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurolink.accounts.errors import (
    AmbiguousAccountError,
    InvalidKeyError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    PasswordUnavailableError,
    WrongPasswordError,
)
from neurolink.accounts.keystore import Keystore
from neurolink.accounts.password import read_password
from neurolink.cli.main import app

# A low scrypt cost keeps the tests fast; the CLI keeps eth-account's standard cost.
FAST = 2**4
KEY = "0x" + "11" * 32


def test_new_keystore_is_private_and_unlocks(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "ks", scrypt_n=FAST)
    entry = store.new("pw-1")
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.path.parent.stat().st_mode) == 0o700
    data = json.loads(entry.path.read_text())
    assert data["version"] == 3 and data["crypto"]["kdf"] == "scrypt"
    assert store.unlock(None, "pw-1").address == entry.address
    with pytest.raises(WrongPasswordError, match="wrong password"):
        store.unlock(entry.address, "pw-2")


def test_import_list_find_and_duplicates(tmp_path: Path) -> None:
    store = Keystore(tmp_path, scrypt_n=FAST)
    entry = store.import_key(KEY, "pw")
    assert store.unlock(entry.address.lower(), "pw").key.hex().removeprefix("0x") == KEY[2:]
    assert KEY[2:] not in entry.path.read_text(), "the key must only be stored encrypted"
    with pytest.raises(KeystoreExistsError):
        store.import_key(KEY[2:], "other")
    store.new("pw")
    assert len(store.list()) == 2
    with pytest.raises(AmbiguousAccountError):
        store.find(None)
    with pytest.raises(KeystoreNotFoundError):
        store.find("0x" + "22" * 20)
    with pytest.raises(InvalidKeyError, match="32 bytes"):
        store.import_key("0x1234", "pw")
    with pytest.raises(InvalidKeyError, match="hex"):
        store.import_key("zz" * 32, "pw")


def test_import_keystore_file_checks_the_password(tmp_path: Path) -> None:
    source = Keystore(tmp_path / "a", scrypt_n=FAST).import_key(KEY, "pw")
    target = Keystore(tmp_path / "b", scrypt_n=FAST)
    with pytest.raises(WrongPasswordError):
        target.import_file(source.path, "nope")
    assert target.import_file(source.path, "pw").address == source.address


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text("from-file\n")
    monkeypatch.setenv("NEUROLINK_PASSWORD", "from-env")
    assert read_password(pw_file) == "from-file"
    assert read_password(None) == "from-env"
    # Read once, then dropped from the environment, so no worker or job process inherits it.
    assert "NEUROLINK_PASSWORD" not in os.environ
    assert read_password(None, prompt=lambda _text, _confirm: "typed") == "typed"
    with pytest.raises(PasswordUnavailableError, match="--password-file"):
        read_password(None)


def test_account_cli_new_import_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROLINK_HOME", str(tmp_path))
    monkeypatch.delenv("NEUROLINK_PASSWORD", raising=False)
    (tmp_path / "pw").write_text("secret\n")
    (tmp_path / "key").write_text(KEY + "\n")
    runner = CliRunner()
    created = runner.invoke(app, ["account", "new", "--password-file", str(tmp_path / "pw"), "--json"])
    assert created.exit_code == 0, created.output
    imported = runner.invoke(
        app,
        [
            "account",
            "import",
            "--key-file",
            str(tmp_path / "key"),
            "--password-file",
            str(tmp_path / "pw"),
            "--json",
        ],
    )
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(app, ["account", "list", "--json"])
    addresses = {row["address"] for row in json.loads(listed.output)["accounts"]}
    assert addresses == {json.loads(created.output)["address"], json.loads(imported.output)["address"]}
    assert KEY[2:] not in created.output + imported.output + listed.output
    again = runner.invoke(
        app,
        ["account", "import", "--key-file", str(tmp_path / "key"), "--password-file", str(tmp_path / "pw")],
    )
    assert again.exit_code != 0 and isinstance(again.exception, KeystoreExistsError)
