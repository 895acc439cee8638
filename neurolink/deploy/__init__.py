"""Deploying NeuroLink to a chain: estimate, send, verify, record in the deployments file."""
