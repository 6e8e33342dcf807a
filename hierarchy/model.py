"""The Hierarchy: one stack of encoder layers; each task reads the layer at its depth, and what it predicts
travels upward as softmax-weighted label embeddings (JMT, Hashimoto et al. 2017)."""
import torch
from allennlp_light.modules.input_variational_dropout import InputVariationalDropout
from torch import nn

from .config import ModelConfig
from .modules import BiLSTM, Embeddings
from .tasks import make_task


class Hierarchy(nn.Module):
    """Layer k reads ``[h_{k-1}; x; label embeddings of the tasks below]`` where ``x`` are the word embeddings
    (a shortcut into every layer, as in JMT)."""

    def __init__(self, config: ModelConfig, vocabs):
        super().__init__()
        self.embed = Embeddings(
            len(vocabs.words), len(vocabs.chars), config.word_dim, config.chars, config.char_dim, config.char_size,
            config.word_dropout,
        )
        self.dropout = InputVariationalDropout(config.dropout)
        self.layers = nn.ModuleList()
        self.tasks = nn.ModuleDict()
        self.depth = {}  # task name -> index of the layer it reads
        n_below, n_labels = 0, 0
        for k, layer in enumerate(config.layers):
            encoder = BiLSTM(self.embed.n_out + n_below + n_labels, layer.size)
            self.layers.append(encoder)
            for name in layer.tasks:
                self.tasks[name] = make_task(name, encoder.n_out, config, vocabs)
                self.depth[name] = k
                n_labels += self.tasks[name].n_label_out
            n_below = encoder.n_out

    def forward(self, batch, tasks) -> dict[str, dict[str, torch.Tensor]]:
        """Run the stack up to the highest layer that ``tasks`` need, once.

        Returns ``{task: scores}`` for the requested tasks and for every task below them (whose label
        embeddings fed the layers above).
        """
        top = max(self.depth[t] for t in tasks)
        x = self.dropout(self.embed(batch.words, batch.chars))  # (batch, seq, n_embed)
        h, labels, scores = None, [], {}
        for k in range(top + 1):
            inputs = torch.cat([x] + ([h] if h is not None else []) + labels, -1)
            h = self.dropout(self.layers[k](inputs, batch.lens))  # (batch, seq, 2 * size)
            for name, depth in self.depth.items():
                if depth != k or (name not in tasks and k == top):
                    continue
                task = self.tasks[name]
                scores[name] = task(h, batch)
                if task.n_label_out and k < top:
                    labels.append(task.label_embedding(scores[name]))
        return scores

    def lower_parameters(self, task: str) -> dict[str, nn.Parameter]:
        """The trainable parameters below ``task``'s layer (embeddings, lower layers, lower task heads): the ones
        successive regularization keeps near where the previous task left them."""
        depth = self.depth[task]
        if depth == 0:
            return {}
        lower = {f"layers.{k}." for k in range(depth)} | {f"tasks.{t}." for t, d in self.depth.items() if d < depth}
        return {
            name: p
            for name, p in self.named_parameters()
            if p.requires_grad and (name.startswith("embed.") or any(name.startswith(prefix) for prefix in lower))
        }
