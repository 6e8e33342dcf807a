"""The Hierarchy: one stack of encoder layers; each task reads the layer at its depth, and what it predicts
travels upward as softmax-weighted label embeddings (JMT, Hashimoto et al. 2017)."""
import torch
from allennlp_light.modules.input_variational_dropout import InputVariationalDropout
from torch import nn

from .config import ModelConfig
from .modules import AttentionLayer, BiLSTM, Embeddings
from .tasks import make_task


class Hierarchy(nn.Module):
    """Layer k reads ``[h_{k-1}; x; label embeddings of the tasks below]`` where ``x`` are the word embeddings
    (a shortcut into every layer, as in JMT). A layer is a BiLSTM or a self-attention block (LISA); the dependency
    task at an attention layer with a syntax head takes that head's attention logits as its arc scores, and
    ``batch.inject`` (an injected parse) makes that head attend to the given heads. A ``predicates`` task below
    ``srl`` chooses the predicates whose roles the SRL head labels.

    A label embedding is per token (``[batch_size, seq_len, n]``) or per sentence (``[batch_size, n]``, e.g. the
    relatedness of a pair given to both its sentences); a per-sentence one reaches every token of the sentence.
    """

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
            n_in = self.embed.n_out + n_below + n_labels
            if layer.encoder == "attention":
                encoder = AttentionLayer(n_in, layer.size, layer.heads, layer.syntax_head, config.dropout)
            else:
                encoder = BiLSTM(n_in, layer.size)
            self.layers.append(encoder)
            for name in layer.tasks:
                self.tasks[name] = make_task(name, encoder.n_out, config, vocabs, layer.syntax_head,
                                             tasks=[t for k in config.layers for t in k.tasks])
                self.depth[name] = k
                n_labels += self.tasks[name].n_label_out
            n_below = encoder.n_out

    def forward(self, batch, tasks) -> dict[str, dict[str, torch.Tensor]]:
        """Run the stack up to the highest layer that ``tasks`` need, once.

        Returns ``{task: scores}`` for the requested tasks and for every task below them whose label embeddings
        feed the layers above.
        """
        top = max(self.depth[t] for t in tasks)
        x = self.dropout(self.embed(batch.words, batch.chars, batch.types))  # (batch, seq, n_embed)
        h, labels, scores = None, [], {}
        for k in range(top + 1):
            inputs = torch.cat([x] + ([h] if h is not None else []) + labels, -1)
            layer, s_arc = self.layers[k], None
            if isinstance(layer, AttentionLayer):
                h, s_arc = layer(inputs, batch.mask, batch.inject)  # (batch, seq, size)
                h = self.dropout(h)
            else:
                h = self.dropout(layer(inputs, batch.lens))  # (batch, seq, 2 * size)
            for name, depth in self.depth.items():
                task = self.tasks[name]
                if depth != k or (name not in tasks and (k == top or not task.n_label_out)):
                    continue
                scores[name] = task(h, batch) if s_arc is None else task(h, batch, s_arc)
                if name == "srl" and "predicates" in scores:  # the roles of the predicates found below (LISA)
                    scores[name] = scores["predicates"] | scores[name]
                if task.n_label_out and k < top:
                    label = task.label_embedding(scores[name])
                    labels.append(label if label.dim() == 3 else label[:, None, :].expand(-1, h.shape[1], -1))
        return scores

    def lower_parameters(self, task: str) -> dict[str, nn.Parameter]:
        """The trainable parameters below ``task``'s layer that shape its input (embeddings, lower layers, the lower
        task heads whose label embeddings feed upward): the ones successive regularization keeps near where the
        previous task left them."""
        depth = self.depth[task]
        if depth == 0:
            return {}
        heads = {f"tasks.{t}." for t, d in self.depth.items() if d < depth and self.tasks[t].n_label_out}
        lower = {f"layers.{k}." for k in range(depth)} | heads
        return {
            name: p
            for name, p in self.named_parameters()
            if p.requires_grad and (name.startswith("embed.") or any(name.startswith(prefix) for prefix in lower))
        }
