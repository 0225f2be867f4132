"""TermLinker: offline biomedical term normalisation (retrieve, re-rank, distil).

The engine package. It never imports Qt; the desktop app is a thin layer over it.
Heavy modules (onnxruntime, hnswlib, llama.cpp, torch) are imported lazily by the
modules that need them so that ``import termlinker`` stays cheap.
"""

from .privacy import disable_telemetry

# Before any dependency initialises: they read their telemetry switches once, at load.
disable_telemetry()

__version__ = "0.1.0"
