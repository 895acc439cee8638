"""Shared fixtures: a real anvil chain per session (neurolink.devnet.pytest_plugin)."""

pytest_plugins = ["neurolink.devnet.pytest_plugin"]
