"""Chain access: web3 provider, build artifacts as contract handles, tx sending, revert decoding."""
