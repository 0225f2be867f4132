"""Vocabularies: the concept model, file loaders, built-ins and the local store."""

from .builtin import BUILTINS, DEFAULT_BUILTIN, BuiltinSpec
from .loaders import SUPPORTED_FORMATS, load_jsonl, load_obo, load_table, load_vocabulary_file, save_jsonl
from .model import Concept, Vocabulary, VocabularyInfo
from .store import VocabularyStore, VocabularySummary

__all__ = [
    "BUILTINS",
    "DEFAULT_BUILTIN",
    "SUPPORTED_FORMATS",
    "BuiltinSpec",
    "Concept",
    "Vocabulary",
    "VocabularyInfo",
    "VocabularyStore",
    "VocabularySummary",
    "load_jsonl",
    "load_obo",
    "load_table",
    "load_vocabulary_file",
    "save_jsonl",
]
