"""Evaluation: metrics, and the public benchmark datasets read from a folder the caller names (--data-dir)."""
