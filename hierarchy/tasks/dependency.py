"""Dependency parsing with biaffine arc and label scorers (Dozat & Manning) and well-formed tree decoding: the head
and the ``deps`` task's spec."""
import torch
import torch.nn.functional as F
from torch import nn

from hierarchy.io.errors import HierarchyError
from hierarchy.modules import MLP
from hierarchy.modules.bilinear import Biaffine
from hierarchy.tasks.decoding import decode_tree
from hierarchy.tasks.metrics import AttachmentMetric
from hierarchy.tasks.spec import TaskSpec, Writers, read_ud, token_gold, token_labels, unpad, write_ud

REL_CHUNK = 128  # words per label-scoring matmul (see DependencyHead.rel_scores)


class DependencyHead(nn.Module):
    """Scores every (dependent, head) pair; a learned ROOT state is prepended at position 0."""

    fields = ["heads", "rels"]
    n_label_out = 0

    def __init__(self, n_in: int, n_rels: int, arc_dim: int, rel_dim: int, dropout: float, root: int | None = None,
                 own_arcs: bool = True):
        super().__init__()
        self.root_rel = root  # index of the label "root": given to the word under ROOT, and to no other word
        self.root = nn.Parameter(torch.zeros(n_in))
        self.own_arcs = own_arcs  # False: the arcs are a syntax head's attention (LISA), given to forward
        if own_arcs:
            self.arc_dep, self.arc_head = MLP(n_in, arc_dim, dropout), MLP(n_in, arc_dim, dropout)
        self.rel_dep, self.rel_head = MLP(n_in, rel_dim, dropout), MLP(n_in, rel_dim, dropout)
        if own_arcs:
            self.arc_attn = Biaffine(arc_dim, arc_dim)
        self.rel_attn = nn.Bilinear(rel_dim, rel_dim, n_rels)  # scored only at chosen heads: O(n) not O(n^2)

    def forward(self, context) -> dict[str, torch.Tensor]:
        """``context.states [batch_size, seq_len, n_in]`` -> ``s_arc [batch_size, seq_len + 1, seq_len + 1]`` (``s_arc[b, i, j]``:
        word i takes head j, 0 = ROOT) and the label representations ``rel_dep``, ``rel_head``
        ``[batch_size, seq_len + 1, rel_dim]`` that :meth:`rel_scores` combines once heads are chosen.

        Without arcs of its own, ``context.arcs [batch_size, seq_len, seq_len]`` (a syntax head's logits, word i
        attends to word j, to itself for ROOT) gives them: ``s_arc[b, i, j] = arcs[b, i - 1, j - 1]`` and
        ``s_arc[b, i, 0] = arcs[b, i - 1, i - 1]``; a word never heads itself."""
        h, batch = context.states, context.batch
        h = torch.cat([self.root.to(h.dtype).expand(h.shape[0], 1, -1), h], 1)
        heads_mask = F.pad(batch.mask, (1, 0), value=True)  # ROOT can be a head, padding cannot
        if self.own_arcs:
            s_arc = self.arc_attn(self.arc_dep(h), self.arc_head(h))
        else:
            s_arc = attention_arcs(context.arcs.float())
        s_arc = s_arc.float().masked_fill(~heads_mask[:, None, :], float("-inf"))
        return {"s_arc": s_arc, "rel_dep": self.rel_dep(h), "rel_head": self.rel_head(h)}

    def rel_scores(self, scores, heads: torch.Tensor) -> torch.Tensor:
        """Label scores of each word at its head ``heads [batch_size, seq_len + 1]`` ->
        ``s_rel [batch_size, seq_len + 1, n_rels]``."""
        rel_dep, rel_head = scores["rel_dep"], scores["rel_head"]
        rel_head = rel_head.gather(1, heads[..., None].expand(-1, -1, rel_head.shape[-1]))
        # (n_rels, rel_dim, rel_dim), in the dtype of the states (bf16 ones come out of autocast for the loss too);
        # two matmuls beat nn.Bilinear's trilinear on CPU, and in chunks of words they stay in the cache: the
        # intermediate is n_rels * rel_dim per word (forward and backward over 4,000 words 1.4 times as fast on one
        # CPU thread, 2.2 times on two)
        weight = self.rel_attn.weight.to(rel_dep.dtype).permute(1, 0, 2).flatten(1)  # (rel_dim, n_rels * rel_dim)
        dep, head = rel_dep.flatten(0, 1), rel_head.flatten(0, 1)  # (n, rel_dim)
        out = [torch.bmm((d @ weight).unflatten(-1, (-1, dep.shape[-1])), h[..., None]).squeeze(-1)
               for d, h in zip(dep.split(REL_CHUNK), head.split(REL_CHUNK))]
        return torch.cat(out).view(*heads.shape, -1) + self.rel_attn.bias

    def loss(self, scores, batch) -> torch.Tensor:
        """Cross-entropy of the gold head per word plus cross-entropy of the gold label at the gold head."""
        heads = batch.gold.get("heads")
        if heads is None or not (heads >= 0).any():
            return scores["s_arc"].sum() * 0
        mask = F.pad(batch.mask & (heads >= 0), (1, 0), value=False)
        gold_heads = F.pad(heads.clamp(min=0), (1, 0))  # (batch_size, seq_len + 1)
        arc_loss = F.cross_entropy(scores["s_arc"][mask], gold_heads[mask])
        rels = batch.gold.get("rels")
        if rels is None:
            return arc_loss
        s_rel = self.rel_scores(scores, gold_heads)[mask].float()  # (n_words, n_rels)
        return arc_loss + F.cross_entropy(s_rel, F.pad(rels, (1, 0), value=-100)[mask], ignore_index=-100)

    def decode(self, scores, batch) -> dict[str, list[list[int]]]:
        """Heads from :func:`decode_tree` (always one tree with one root), then the best label at each head."""
        mask = F.pad(batch.mask, (1, 0), value=False)
        heads = decode_tree(scores["s_arc"], mask)  # (batch_size, seq_len + 1)
        s_rel = self.rel_scores(scores, heads).float()  # (batch_size, seq_len + 1, n_rels)
        if self.root_rel is None:
            rels = s_rel.argmax(-1)
        else:
            s_rel[..., self.root_rel] = float("-inf")
            rels = s_rel.argmax(-1).masked_fill(heads == 0, self.root_rel)
        lens = batch.lens.tolist()
        return {"heads": unpad(heads, lens, start=1), "rels": unpad(rels, lens, start=1)}


def attention_arcs(attention: torch.Tensor) -> torch.Tensor:
    """A syntax head's logits ``[batch_size, seq_len, seq_len]`` (attending to oneself = being the root) ->
    arc scores ``[batch_size, seq_len + 1, seq_len + 1]`` with ROOT at position 0 (row 0 is unused).

    >>> attention_arcs(torch.tensor([[[1., 2.], [3., 4.]]]))
    tensor([[[0., 0., 0.],
             [1., -inf, 2.],
             [4., 3., -inf]]])
    """
    n = attention.shape[-1]
    diagonal = attention.diagonal(dim1=-2, dim2=-1)  # (batch, seq): the root scores
    words = attention.masked_fill(torch.eye(n, dtype=torch.bool, device=attention.device), float("-inf"))
    rows = torch.cat([diagonal[..., None], words], -1)  # (batch, seq, seq + 1)
    return F.pad(rows, (0, 0, 1, 0))


def _head(n_in, config, vocabs, layer, tasks, n_embed) -> DependencyHead:
    rels = vocabs.labels["rels"]
    return DependencyHead(n_in, len(rels), config.arc_dim, config.rel_dim, config.dropout, rels.stoi.get("root"),
                          own_arcs=not layer.syntax_head)


def _gold(sentences, vocabs, seq_len: int) -> dict[str, torch.Tensor]:
    """``heads`` (1-based, 0 = ROOT) and ``rels`` ``[batch_size, seq_len]``, -100 where absent or unknown."""
    gold = token_gold(("rels",))(sentences, vocabs, seq_len)
    for i, s in enumerate(sentences):
        if s.heads is not None:
            tensor = gold.setdefault("heads", torch.full((len(sentences), seq_len), -100, dtype=torch.long))
            tensor[i, : len(s)] = torch.tensor(s.heads)
    return gold


def _metric(predicted, gold, vocabs) -> dict:

    metric = AttachmentMetric()
    for p, g in zip(predicted, gold):
        if g.heads is not None:
            metric.update(p.heads, p.rels, g.heads, g.rels)
    return {"deps": metric}


ROOT = "ROOT"  # spaCy's dep_ of a sentence's root (UD's "root")
SPACE_DEP = "dep"  # the dep_ of a whitespace token, attached to a neighbouring word


class SpacyDeps:
    """``token.head`` and ``token.dep_``: a sentence's root is its own head with ``dep_ == "ROOT"`` (spaCy's
    convention); whitespace tokens attach with ``dep`` to the previous word of their sentence (the next one when
    they open it); labels are scored lowercased, as spaCy's parser does, so ``ROOT`` matches UD's ``root``."""

    assigns = ["token.head", "token.dep"]
    score_weights = {"dep_uas": 0.1, "dep_las": 0.4, "dep_las_per_type": None}
    performance = {"dep_uas": ("deps", "uas"), "dep_las": ("deps", "las")}  # where metrics.json has them

    def write(self, doc, parse, vocab) -> None:
        from spacy.attrs import DEP, HEAD

        n = len(doc)
        heads, deps = list(range(n)), [SPACE_DEP] * n
        for (start, end), words, sentence in zip(parse.bounds, parse.words, parse.sentences):
            attach_spaces(start, end, words, heads, deps)
            for j, i in enumerate(words):
                head = sentence.heads[j]
                heads[i], deps[i] = (words[head - 1], sentence.rels[j]) if head else (i, ROOT)
        offsets, labels = [h - i for i, h in enumerate(heads)], [vocab.strings.add(d) for d in deps]
        parse.set_columns([HEAD, DEP], [offsets, labels])

    def score(self, examples, **kwargs) -> dict:
        from spacy.scorer import Scorer

        def getter(token, attr):
            return token.vocab.strings.as_string(getattr(token, attr)).lower()

        return Scorer.score_deps(examples, "dep", getter=getter, **kwargs)


def attach_spaces(start: int, end: int, words: list, heads: list, deps: list) -> None:
    """Attach the whitespace tokens of the sentence ``start:end`` (those not in ``words``) to the previous word of
    the sentence, else the next; in a sentence of whitespace only, the first token is the root."""
    previous, following = None, iter(words)
    upcoming = next(following, None)
    for i in range(start, end):
        if upcoming is not None and i == upcoming:
            previous, upcoming = i, next(following, None)
            continue
        target = previous if previous is not None else upcoming
        if target is None:
            target = start
            if i == start:
                deps[i] = ROOT
        heads[i] = target


def join(layers: list[dict], lengths: list[int], vocabs) -> dict:
    """The trees of consecutive pieces of one sentence as one tree: heads shifted by each piece's offset, and the
    root of every piece after the first attached to the first piece's root as ``parataxis`` (UD's relation for
    clauses run together without a link).

    >>> join([{"heads": [2, 0], "rels": ["nsubj", "root"]}, {"heads": [0, 1], "rels": ["root", "obj"]}], [2, 2], None)
    {'heads': [2, 0, 2, 3], 'rels': ['nsubj', 'root', 'parataxis', 'obj']}
    """
    heads, rels, offset, root = [], [], 0, None
    for layer, n in zip(layers, lengths):
        for k, (head, rel) in enumerate(zip(layer["heads"], layer["rels"])):
            if head == 0 and root is None:
                root = offset + k + 1
            elif head == 0:
                head, rel = root - offset, "parataxis"
            heads.append(head + offset)
            rels.append(rel)
        offset += n
    return {"heads": heads, "rels": rels}


class ParseInjection:
    """A parse given to LISA's syntax head in place of its own attention (``evaluate --inject-parse``)."""

    @staticmethod
    def heads(name: str, parse, path, gold) -> list[list[int]]:
        """The heads to inject for the sentences ``gold`` of the file ``path``: their own (``name == "gold"``) or
        those of ``parse``, the sentences of the CoNLL-U file ``name``, which must have the same sentences and
        words."""
        source = gold if parse is None else parse
        if parse is not None and len(parse) != len(gold):
            raise HierarchyError(f"{name}: {len(parse)} sentences, but {path} has {len(gold)} (expected the same)")
        for s, g in zip(source, gold):
            if len(s) != len(g):
                raise HierarchyError(f"{s.source}: {len(s)} words, but {g.source} has {len(g)} (expected the same)")
            if s.heads is None:
                raise HierarchyError(f"{s.source}: expected a HEAD column to inject as the parse, found only '_'")
        return [s.heads for s in source]

    @staticmethod
    def positions(sentences, seq_len: int) -> torch.Tensor:
        """``[len(sentences), seq_len]``: the position of each word's head, the word itself for the root (where
        the syntax head attends)."""
        out = torch.zeros(len(sentences), seq_len, dtype=torch.long)
        for i, s in enumerate(sentences):
            if s.heads is None:
                raise ValueError(f"{s.source or 'sentence'}: no HEAD column to inject as the parse")
            out[i, : len(s)] = torch.tensor([h - 1 if h else k for k, h in enumerate(s.heads)])
        return out


SPEC = TaskSpec(
    name="deps", title="dependencies", data_key="deps", flag="conllu", arcs=True, inject=ParseInjection(),
    read=read_ud,
    fields=("heads", "rels"), labels=token_labels(("rels",)), head=_head, gold=_gold,
    predictions=lambda values, vocabs, item: {"heads": values["heads"],
                                              "rels": [vocabs.labels["rels"].itos[i] for i in values["rels"]]},
    metric=_metric, rows=lambda name, m: [("UAS", None, None, m.values["uas"]), ("LAS", None, None, m.values["las"])],
    writers=Writers(json=lambda s: {"heads": s.heads, "deprels": s.rels}, spacy=SpacyDeps(),
                    file=(".conllu", write_ud)),
    join=join,
)
