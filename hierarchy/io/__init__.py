"""Reading and writing: corpus readers and writers (every reader returns a list of Sentence, of Pair for sentence
pairs; errors are CorpusError naming the file and line), BIO spans and tree checks of the formats, vocabulary tables,
word vectors, crash-safe file handling and the project's errors. Nothing here imports torch."""
from hierarchy.io.conll2000 import read_conll2000, write_conll2000
from hierarchy.io.pairs import Pair, format_pairs, read_pairs, write_pairs
from hierarchy.io.sentence import Sentence
from hierarchy.io.srl import read_conll05, read_srl, read_srl_conllu, write_conll05, write_srl
from hierarchy.io.ud import format_conllu, read_conllu, write_conllu

__all__ = ["Pair", "Sentence", "format_pairs", "read_pairs", "write_pairs", "read_conllu", "write_conllu",
           "format_conllu", "read_conll2000", "write_conll2000", "read_srl", "write_srl", "read_srl_conllu",
           "read_conll05", "write_conll05"]
