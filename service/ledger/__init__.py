"""Proofs over the log: Merkle trees, signed checkpoints, keys, verification, bundles."""
