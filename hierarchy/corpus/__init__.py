"""Corpus readers and writers: every reader returns a list of Sentence (of Pair for sentence pairs); errors are
CorpusError."""
from hierarchy.corpus.conll2000 import read_conll2000, write_conll2000
from hierarchy.corpus.pairs import Pair, format_pairs, read_pairs, write_pairs
from hierarchy.corpus.srl import read_conll05, read_srl, read_srl_conllu, write_conll05, write_srl
from hierarchy.corpus.ud import format_conllu, read_conllu, write_conllu
from hierarchy.corpus.sentence import Sentence

__all__ = ["Pair", "Sentence", "format_pairs", "read_pairs", "write_pairs", "read_conllu", "write_conllu",
           "format_conllu", "read_conll2000", "write_conll2000", "read_srl", "write_srl", "read_srl_conllu",
           "read_conll05", "write_conll05"]
