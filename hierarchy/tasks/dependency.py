"""Dependency parsing with biaffine arc and label scorers (Dozat & Manning) and well-formed tree decoding."""
import torch
import torch.nn.functional as F
from allennlp_light.modules.matrix_attention import BilinearMatrixAttention
from torch import nn

from ..decoding import decode_tree
from ..modules import MLP


class DependencyTask(nn.Module):
    """Scores every (dependent, head) pair; a learned ROOT state is prepended at position 0."""

    fields = ["heads", "rels"]
    n_label_out = 0

    def __init__(self, n_in: int, n_rels: int, arc_dim: int, rel_dim: int, dropout: float):
        super().__init__()
        self.root = nn.Parameter(torch.zeros(n_in))
        self.arc_dep, self.arc_head = MLP(n_in, arc_dim, dropout), MLP(n_in, arc_dim, dropout)
        self.rel_dep, self.rel_head = MLP(n_in, rel_dim, dropout), MLP(n_in, rel_dim, dropout)
        self.arc_attn = BilinearMatrixAttention(arc_dim, arc_dim, use_input_biases=True)
        self.rel_attn = BilinearMatrixAttention(rel_dim, rel_dim, use_input_biases=True, label_dim=n_rels)

    def forward(self, h: torch.Tensor, batch) -> dict[str, torch.Tensor]:
        """``h [batch_size, seq_len, n_in]`` -> ``s_arc [batch_size, seq_len + 1, seq_len + 1]`` (``s_arc[b, i, j]``:
        word i takes head j, 0 = ROOT) and ``s_rel [batch_size, seq_len + 1, seq_len + 1, n_rels]``."""
        h = torch.cat([self.root.to(h.dtype).expand(h.shape[0], 1, -1), h], 1)
        heads_mask = F.pad(batch.mask, (1, 0), value=True)  # ROOT can be a head, padding cannot
        s_arc = self.arc_attn(self.arc_dep(h), self.arc_head(h))
        s_arc = s_arc.float().masked_fill(~heads_mask[:, None, :], float("-inf"))
        s_rel = self.rel_attn(self.rel_dep(h), self.rel_head(h)).permute(0, 2, 3, 1)
        return {"s_arc": s_arc, "s_rel": s_rel}

    def loss(self, scores, batch) -> torch.Tensor:
        """Cross-entropy of the gold head per word plus cross-entropy of the gold label at the gold head."""
        heads = batch.gold.get("heads")
        if heads is None or not (heads >= 0).any():
            return scores["s_arc"].sum() * 0
        mask = F.pad(batch.mask & (heads >= 0), (1, 0), value=False)
        gold_heads = F.pad(heads.clamp(min=0), (1, 0))[mask]  # (n_words,)
        s_arc = scores["s_arc"][mask]  # (n_words, seq_len + 1)
        s_rel = scores["s_rel"][mask]  # (n_words, seq_len + 1, n_rels)
        s_rel = s_rel[torch.arange(len(gold_heads), device=s_rel.device), gold_heads].float()
        arc_loss = F.cross_entropy(s_arc, gold_heads)
        rels = batch.gold.get("rels")
        if rels is None:
            return arc_loss
        return arc_loss + F.cross_entropy(s_rel, F.pad(rels, (1, 0), value=-100)[mask], ignore_index=-100)

    def decode(self, scores, batch) -> dict[str, list[list[int]]]:
        """Heads from :func:`decode_tree` (always one tree with one root), then the best label at each head."""
        mask = F.pad(batch.mask, (1, 0), value=False)
        heads = decode_tree(scores["s_arc"], mask)  # (batch_size, seq_len + 1)
        rels = scores["s_rel"].gather(2, heads[..., None, None].expand(-1, -1, 1, scores["s_rel"].shape[-1]))
        rels = rels.squeeze(2).argmax(-1).cpu()
        heads = heads.cpu()
        lens = batch.lens.tolist()
        return {"heads": [heads[i, 1 : n + 1].tolist() for i, n in enumerate(lens)],
                "rels": [rels[i, 1 : n + 1].tolist() for i, n in enumerate(lens)]}
