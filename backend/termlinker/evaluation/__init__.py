"""Evaluation: metrics and the public benchmark datasets read from ../shared/data."""
