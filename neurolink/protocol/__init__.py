"""The protocol's Python side: commitments, job parameters, deployment and a mirror of settlement."""
