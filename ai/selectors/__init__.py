"""Reads of the ai app, one module per subject."""
