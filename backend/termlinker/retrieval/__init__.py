"""Retrieval: ONNX encoder, hnswlib dense index, lexical channel and their fusion.

Nothing here imports torch or transformers; ``export`` does, lazily, for training only.
"""
