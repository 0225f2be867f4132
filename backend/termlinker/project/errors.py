"""Errors a user can cause with a review project. Each message says what to do."""

from __future__ import annotations

from ..errors import TermLinkerError


class ProjectError(TermLinkerError):
    """Base class for review-project problems."""


class NotAProjectError(ProjectError):
    """The file is missing, is not SQLite, or is SQLite but not a TermLinker project."""


class ProjectCorruptError(ProjectError):
    """SQLite could not read the file: it is damaged."""


class ForeignSchemaError(ProjectError):
    """The file holds triggers, views or tables TermLinker did not create; it is refused unopened."""


class NewerSchemaError(ProjectError):
    """The project was written by a newer TermLinker."""


class ProjectExistsError(ProjectError):
    """``Project.create`` was asked to overwrite a file."""


class UnknownTermError(ProjectError):
    """A decision names a term that is not in the project."""


class DecisionError(ProjectError):
    """A decision is incomplete or contradicts itself (e.g. approve with no concept)."""


class VocabularyMismatchError(ProjectError):
    """A linker over another vocabulary was used to link this project."""
