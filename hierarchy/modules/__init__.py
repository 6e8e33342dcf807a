from .bilstm import BiLSTM
from .embeddings import Embeddings
from .mlp import MLP

__all__ = ["BiLSTM", "Embeddings", "MLP"]
