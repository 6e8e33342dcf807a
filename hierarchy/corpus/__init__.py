"""Corpus readers and writers: every reader returns a list of Sentence; errors are CorpusError."""
from hierarchy.corpus.conll2000 import read_conll2000, write_conll2000
from hierarchy.corpus.ud import format_conllu, read_conllu, write_conllu
from hierarchy.corpus.sentence import Sentence

__all__ = ["Sentence", "read_conllu", "write_conllu", "format_conllu", "read_conll2000", "write_conll2000"]
