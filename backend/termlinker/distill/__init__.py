"""Distillation: a closed teacher LLM labels the clinic's own terms once; the local models learn from it.

Part 1 (here): teacher labelling, cached and budget-capped (see :mod:`.labelling`).
"""
