"""Review projects: one SQLite file of terms, link results, decisions and comments.

The desktop app is a thin layer over this API; the ``termlinker project`` commands too.
"""

from .errors import (DecisionError, ForeignSchemaError, NewerSchemaError, NotAProjectError, ProjectCorruptError,
                     ProjectError, ProjectExistsError, UnknownTermError, VocabularyMismatchError)
from .exports import FORMATS, ExportFormatError
from .model import (BulkApproval, BulkChange, LinkSummary, Predicate, ProjectInfo, ProjectStats, RecallSummary,
                    Remembered, ReviewRow, Status,
                    Target)
from .project import Project

__all__ = [
    "BulkApproval", "BulkChange", "FORMATS", "DecisionError", "ExportFormatError", "ForeignSchemaError", "LinkSummary", "NewerSchemaError",
    "NotAProjectError", "Project", "ProjectCorruptError", "ProjectError", "ProjectExistsError", "ProjectInfo",
    "ProjectStats", "Predicate", "RecallSummary", "Remembered", "ReviewRow", "Status", "Target", "UnknownTermError", "VocabularyMismatchError",
]
