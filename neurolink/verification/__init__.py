"""Verification of results across unlike hardware: result fingerprints and device determinism classes."""
