"""Vocabularies: the concept model, file loaders, built-ins and the local store."""

from .athena import OMOP_KIND, omop_fields
from .builtin import BUILTINS, DEFAULT_BUILTIN, BuiltinSpec
from .loaders import SUPPORTED_FORMATS, load_athena, load_jsonl, load_obo, load_table, load_vocabulary_file, save_jsonl
from .model import Concept, Vocabulary, VocabularyInfo
from .store import VocabularyStore, VocabularySummary

__all__ = [
    "BUILTINS",
    "DEFAULT_BUILTIN",
    "OMOP_KIND",
    "SUPPORTED_FORMATS",
    "BuiltinSpec",
    "Concept",
    "Vocabulary",
    "VocabularyInfo",
    "VocabularyStore",
    "VocabularySummary",
    "load_athena",
    "load_jsonl",
    "load_obo",
    "load_table",
    "load_vocabulary_file",
    "omop_fields",
    "save_jsonl",
]
