"""Errors of teacher labelling. Each says what to do; finished answers are always kept."""

from __future__ import annotations

from ..errors import TermLinkerError


class TeacherError(TermLinkerError):
    """The teacher could not be asked; rerunning resumes from the stored answers."""


class TeacherUnreachable(TeacherError):
    """No connection, or every retry timed out."""


class TeacherAuthError(TeacherError):
    """The endpoint refused the API key (401/403)."""


class TeacherRateLimited(TeacherError):
    """429 after every retry."""


class TeacherServerError(TeacherError):
    """5xx after every retry, or an answer that is not a chat completion."""


class TeacherConfigError(TeacherError):
    """Wrong URL, model name or missing key variable: fix the command line."""


class BudgetError(TermLinkerError):
    """The estimated cost is above what is left of the budget."""
