"""The Hierarchy: one stack of encoder layers; each task reads the layer at its depth, and what it predicts
travels upward as softmax-weighted label embeddings (JMT, Hashimoto et al. 2017). It names no task: the heads come
from the task specs (:mod:`hierarchy.tasks`)."""
import dataclasses

import torch
from torch import nn

from hierarchy.core.config import ModelConfig
from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import resolve_resource
from hierarchy.modules import AttentionLayer, BiLSTM, Embeddings
from hierarchy.modules.dropout import LockedDropout
from hierarchy.modules.mix import ScalarMix
from hierarchy.modules.pretrained import ENCODER_EXPECTED
from hierarchy.modules.transformer import TransformerInput
from hierarchy.tasks import TASKS, Context


class Hierarchy(nn.Module):
    """Layer k reads ``[h_{k-1}; x; label embeddings of the tasks below]`` where ``x`` are the word embeddings
    (a shortcut into every layer, as in JMT). A layer is a BiLSTM or a self-attention block (LISA); an attention
    layer with a syntax head gives its heads that head's logits as ``Context.arcs``, and ``batch.inject`` (an
    injected parse) makes that head attend to the given heads. Every head gets the scores of the tasks below it
    (``Context.below``).

    A label embedding is per token (``[batch_size, seq_len, n]``) or per sentence (``[batch_size, n]``, e.g. the
    relatedness of a pair given to both its sentences); a per-sentence one reaches every token of the sentence.

    Dropout: ``config.dropout`` on the embeddings; each layer's own (:meth:`ModelConfig.layer_dropout`) in its encoder,
    on its states and in its tasks' heads. A forward pass replaces words by the unknown word at the word dropout of
    the highest layer it runs (in training, that of the task being trained: :meth:`ModelConfig.layer_word_dropout`).

    A layer with ``mix`` gives its tasks ``gamma * sum_l beta_l h_l`` over its states and those of every layer below
    (a :class:`~hierarchy.modules.mix.ScalarMix`, the sluice network's beta), which must then be of one size.
    """

    def __init__(self, config: ModelConfig, vocabs, encoder_path=None, pretrained: bool = True):
        """``encoder_path``: where the ``[model.transformer]`` encoder is (default: its configured path);
        ``pretrained=False``: a fine-tuned encoder is built from its config only (a saved model holds its weights)."""
        super().__init__()
        transformer = None
        if config.transformer.path:
            tcfg = config.transformer
            path = encoder_path or resolve_resource(tcfg.path, ENCODER_EXPECTED)
            transformer = TransformerInput(path, tcfg.pooling, tcfg.freeze, pretrained or tcfg.freeze, tcfg.tune_layers,
                                           tcfg.context)
        self.embed = Embeddings(
            len(vocabs.words), len(vocabs.chars), config.word_dim, config.chars, config.char_dim, config.char_size,
            config.word_dropout, len(vocabs.vectors) if vocabs.vectors else 0, vocabs.vectors_dim,
            config.vectors_trainable, transformer,
        )
        self.dropout = LockedDropout(config.dropout)
        self.layers = nn.ModuleList()
        self.layer_dropouts = nn.ModuleList(LockedDropout(config.layer_dropout(k)) for k in range(len(config.layers)))
        self.word_dropouts = [config.layer_word_dropout(k) for k in range(len(config.layers))]
        self.tasks = nn.ModuleDict()
        self.mixes = nn.ModuleDict()  # str(layer index) -> the mix its tasks read
        self.depth = {}  # task name -> index of the layer it reads
        stack = [t for layer in config.layers for t in layer.tasks]
        n_below, n_labels = 0, 0
        for k, layer in enumerate(config.layers):
            n_in = self.embed.n_out + n_below + n_labels
            if layer.encoder == "attention":
                encoder = AttentionLayer(n_in, layer.size, layer.heads, layer.syntax_head, config.layer_dropout(k))
            else:
                encoder = BiLSTM(n_in, layer.size)
            self.layers.append(encoder)
            if layer.mix:
                sizes = {below.n_out for below in self.layers}
                if len(sizes) > 1:
                    raise ConfigError(f"model.layers[{k}]: mix reads layers 0-{k}, whose outputs differ in size "
                                      f"({', '.join(str(layer.n_out) for layer in self.layers)}; expected one size)")
                self.mixes[str(k)] = ScalarMix(k + 1)
            for name in layer.tasks:
                own = dataclasses.replace(config, dropout=config.layer_dropout(k, name))  # what the head reads
                self.tasks[name] = TASKS[name].head(encoder.n_out, own, vocabs, layer, stack, self.embed.n_out)
                self.depth[name] = k
                n_labels += self.tasks[name].n_label_out
            n_below = encoder.n_out

    def forward(self, batch, tasks) -> dict[str, dict[str, torch.Tensor]]:
        """Run the stack up to the highest layer that ``tasks`` need, once.

        Returns ``{task: scores}`` for the requested tasks and for every task below them whose label embeddings
        feed the layers above.
        """
        top = max(self.depth[t] for t in tasks)
        x = self.dropout(self.embed(batch, self.word_dropouts[top]))  # (batch, seq, n_embed)
        h, labels, scores, states = None, [], {}, []
        for k in range(top + 1):
            inputs = torch.cat([x] + ([h] if h is not None else []) + labels, -1)
            layer, arcs = self.layers[k], None
            if isinstance(layer, AttentionLayer):
                h, arcs = layer(inputs, batch.mask, batch.inject)  # (batch, seq, size)
                h = self.layer_dropouts[k](h)
            else:
                h = self.layer_dropouts[k](layer(inputs, batch.lens))  # (batch, seq, 2 * size)
            states.append(h)
            read = self.mixes[str(k)](torch.stack(states, 2)) if str(k) in self.mixes else h  # (batch, seq, size)
            for name, depth in self.depth.items():
                head = self.tasks[name]
                if depth != k or (name not in tasks and (k == top or not head.n_label_out)):
                    continue
                scores[name] = head(Context(batch, read, arcs, scores, x))
                if head.n_label_out and k < top:
                    label = head.label_embedding(scores[name])
                    labels.append(label if label.dim() == 3 else label[:, None, :].expand(-1, h.shape[1], -1))
        return scores

    def mix_shares(self) -> dict[str, list[float]]:
        """``{task: beta}`` for each task that reads a mix: each layer's share, bottom first."""
        return {name: self.mixes[str(k)].shares() for name, k in self.depth.items() if str(k) in self.mixes}

    def lower_modules(self, task: str) -> list[nn.Module]:
        """The modules below ``task``'s layer that shape its input: the embeddings, the lower layers and the lower
        task heads whose label embeddings feed upward."""
        depth = self.depth[task]
        if depth == 0:
            return []
        heads = [self.tasks[t] for t, d in self.depth.items() if d < depth and self.tasks[t].n_label_out]
        return [self.embed, *self.layers[:depth], *heads]

    def lower_parameters(self, task: str) -> dict[str, nn.Parameter]:
        """The trainable parameters of :meth:`lower_modules`, by name: the ones successive regularization keeps
        near where the previous task left them. Selected by module, so a wrapper (DDP's ``module.``) changes
        nothing."""
        lower = {id(p) for module in self.lower_modules(task) for p in module.parameters()}
        return {name: p for name, p in self.named_parameters() if p.requires_grad and id(p) in lower}
