from .attention import AttentionLayer
from .bilstm import BiLSTM
from .embeddings import Embeddings
from .mlp import MLP

__all__ = ["AttentionLayer", "BiLSTM", "Embeddings", "MLP"]
