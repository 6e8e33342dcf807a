from hierarchy.modules.attention import AttentionLayer
from hierarchy.modules.bilstm import BiLSTM
from hierarchy.modules.embeddings import Embeddings
from hierarchy.modules.mlp import MLP

__all__ = ["AttentionLayer", "BiLSTM", "Embeddings", "MLP"]
