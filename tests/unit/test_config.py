"""Settings: file, environment and overrides, with readable errors."""

from pathlib import Path

import pytest

from neurolink.config import load_settings
from neurolink.errors import ConfigError


def test_defaults_are_embedded(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.broker_url == "sqlite"
    assert settings.content_url == "local"
    assert settings.content_dir == tmp_path / "content"


def test_file_then_env_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text('rpc_url = "http://file:1"\nconfirmations = 3\n')
    assert load_settings(home=tmp_path).rpc_url == "http://file:1"
    monkeypatch.setenv("NEUROLINK_RPC_URL", "http://env:2")
    assert load_settings(home=tmp_path).rpc_url == "http://env:2"
    assert load_settings(home=tmp_path, rpc_url="http://arg:3").rpc_url == "http://arg:3"
    assert load_settings(home=tmp_path).confirmations == 3


def test_invalid_value_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("confirmations = -1\n")
    with pytest.raises(ConfigError, match="confirmations"):
        load_settings(home=tmp_path)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('rpc_ulr = "typo"\n')
    with pytest.raises(ConfigError, match="rpc_ulr"):
        load_settings(home=tmp_path)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("rpc_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(home=tmp_path)


def test_node_start_block_comes_from_the_deployments_file(tmp_path: Path) -> None:
    """A fresh node scans from its JobMarket's deployment block, not from genesis; node.toml may say
    otherwise, and a JobMarket the file does not describe leaves the default."""
    import json

    from node.daemon.config import load_node_config

    market = "0x" + "ab" * 20
    record = {"address": market, "block": 7_654_321, "code_hash": "0x"}
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "11155111.json").write_text(
        json.dumps({"deploy_block": 7_654_300, "job_market": record, "contracts": {"JobMarket": market}})
    )
    settings = load_settings(home=tmp_path)
    config = load_node_config(settings, tmp_path / "node.toml")
    assert config.job_market == market and config.start_block == 7_654_321
    (tmp_path / "node.toml").write_text("start_block = 5\n")
    assert load_node_config(settings, tmp_path / "node.toml").start_block == 5
    other = load_node_config(settings, tmp_path / "absent.toml", job_market="0x" + "cd" * 20)
    assert other.start_block == 0
