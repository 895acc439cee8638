"""NeuroLink's shared core: chain access, accounts, job spec, content, contract build, devnet."""

__version__ = "0.1.0"
