"""Trivial peer applications: one GET answering a small JSON document."""
