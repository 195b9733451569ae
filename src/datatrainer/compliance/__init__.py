"""Compliance: right to erasure through every version and store, dataset deletion, recorded exports."""
