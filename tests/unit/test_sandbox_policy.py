"""Where the job sandbox is missing, only devnets may take jobs; the probe says what is enforced."""

from pathlib import Path

import pytest

from neurolink.config import load_settings
from node.worker.errors import SandboxUnavailableError
from node.worker.sandbox import probe, require_for_chain

SEPOLIA = 11155111


def test_the_bootstrapped_host_has_an_active_sandbox(tmp_path: Path) -> None:
    status = probe(tmp_path)
    assert status.active and status.tool == "bwrap" and status.version.startswith("bubblewrap")
    assert status.enforced and status.not_enforced
    assert require_for_chain(load_settings(home=tmp_path), SEPOLIA).active


def test_without_bubblewrap_a_public_chain_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap to be found
    settings = load_settings(home=tmp_path)
    assert not probe(tmp_path).active
    with pytest.raises(SandboxUnavailableError, match=r"chain 11155111.*apt-get install bubblewrap"):
        require_for_chain(settings, SEPOLIA)
    devnet = require_for_chain(settings, 31337)
    assert not devnet.active and "not installed" in devnet.reason


def test_sandbox_off_is_refused_on_a_public_chain(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, sandbox="off")
    with pytest.raises(SandboxUnavailableError, match='sandbox = "off"'):
        require_for_chain(settings, SEPOLIA)
    assert not require_for_chain(settings, 1337).active
