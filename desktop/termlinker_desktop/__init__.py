"""TermLinker's desktop app: a thin PySide6 layer over the engine's public API."""
