"""The local devnet: anvil started and stopped as a library call, a pytest fixture or by the CLI."""
