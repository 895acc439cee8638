"""Shared fixtures: a real anvil chain per session (neurolink.devnet.pytest_plugin), a js-ipfs daemon."""

pytest_plugins = ["neurolink.devnet.pytest_plugin", "neurolink.content.pytest_plugin"]
