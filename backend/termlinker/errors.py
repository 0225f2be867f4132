"""Typed errors a user can cause. Each message says what to do next.

The CLI maps every :class:`TermLinkerError` to exit code 2 and prints only the
message; the GUI shows it in a dialog. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TermLinkerError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class InputError(TermLinkerError):
    """A term list or data file cannot be read or is empty."""


class OutputIsInputError(InputError):
    """An output path names a file the same command reads: writing it would destroy the input."""


class VocabularyError(TermLinkerError):
    """A vocabulary file is malformed, missing or ambiguous."""


class ModelError(TermLinkerError):
    """A model file is missing, corrupt or of the wrong kind."""


class ModelCorruptError(ModelError):
    """A model file does not match its recorded checksum."""


class IndexCorruptError(TermLinkerError):
    """A stored index does not match its manifest; it will be rebuilt."""


class Cancelled(TermLinkerError):
    """The user cancelled a long operation; finished work was kept."""

    def __init__(self, message: str = "Cancelled by the user; finished work was kept.") -> None:
        super().__init__(message)


class StorageError(TermLinkerError):
    """The data folder is not writable or the disk is full."""
