"""The heads of semantic role labelling (LISA, Strubell et al. 2018): predicates, their senses, and their arguments
scored by a bilinear product of each predicate's representation with every word's.

* Predicate identification: a binary decision per word, made by the SRL head itself or, as in LISA, by a
  ``predicates`` task lower in the stack (:class:`PredicateHead`), whose label embedding then feeds the layers up.
* Sense: per predicate word, a classifier over the sense numbers seen in training (``01``, ``02``...: the part
  of a roleset after the last dot). The roleset written is ``lemma.NN``; a lemma never seen as a predicate in
  training gets ``lemma.01`` (the first, usually most frequent, sense), whatever the classifier says. Span corpora
  carry lemmas without a sense number: their predicted sense is the lemma. See :func:`~hierarchy.tasks.srl.roleset`.
* Arguments: MLPs give a predicate representation and an argument representation per word; a biaffine scorer
  gives ``s_role [batch_size, n_pred, seq_len, n_roles]``. Head-based data (a role or ``_`` per word, ``V`` on
  the predicate): a softmax per (predicate, word); ``V`` is forced on the predicate and forbidden elsewhere.
  Span data (BIO tags per predicate): a CRF per predicate, decoded by Viterbi under the BIO transition
  constraints, with ``B-V`` forced on the predicate.

The training loss scores the arguments of the gold predicates; decoding scores those of the predicted ones.
The SRL head passes no label embedding upward (``n_label_out = 0``).
"""
import torch
import torch.nn.functional as F
from torch import nn

from hierarchy.io.spans import is_bio
from hierarchy.modules import MLP
from hierarchy.modules.crf import ConditionalRandomField, bio_transitions
from hierarchy.tasks.spec import unpad

PREDICATES = "predicates"  # the task that, where the stack has it, finds the predicates below the roles (LISA)
NOT_PREDICATE = -1  # the sense id of a word that is not a predicate
NO_SENSE = -2  # the sense id of a predicate when the model has no sense classifier (span corpora)


class Predicates(nn.Module):
    """Predicate identification (two classes per word) and sense classification from one MLP over the states."""

    def __init__(self, n_in: int, n_senses: int, mlp_dim: int, dropout: float, enabled: bool = True):
        super().__init__()
        self.mlp = MLP(n_in, mlp_dim, dropout) if enabled else None
        self.predicate = nn.Linear(mlp_dim, 2) if enabled else None
        self.sense = nn.Linear(mlp_dim, n_senses) if n_senses and enabled else None

    def predicate_scores(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """``h [batch_size, seq_len, n_in]`` -> ``s_pred [batch_size, seq_len, 2]`` and ``s_sense [batch_size,
        seq_len, n_senses]`` (absent without senses)."""
        x = self.mlp(h)
        scores = {"s_pred": self.predicate(x)}
        if self.sense is not None:
            scores["s_sense"] = self.sense(x)
        return scores

    def predicate_loss(self, scores, batch) -> torch.Tensor:
        """Cross-entropy of predicate identification, plus that of senses at gold predicates."""
        loss = F.cross_entropy(scores["s_pred"].flatten(0, 1).float(), batch.gold["predicates"].flatten(),
                               ignore_index=-100)
        senses = batch.gold.get("senses")
        if "s_sense" in scores and senses is not None and (senses >= 0).any():
            loss = loss + F.cross_entropy(scores["s_sense"].flatten(0, 1).float(), senses.flatten(), ignore_index=-100)
        return loss

    @staticmethod
    def decode_predicates(scores, batch) -> tuple[torch.Tensor, list[list[int]]]:
        """``is_pred [batch_size, seq_len]`` and the senses per sentence: a sense id per word
        (:data:`NOT_PREDICATE`, :data:`NO_SENSE` or an index into the sense numbers)."""
        is_pred = (scores["s_pred"].argmax(-1) == 1) & batch.mask  # (batch, seq)
        if "s_sense" in scores:
            senses = scores["s_sense"].argmax(-1).masked_fill(~is_pred, NOT_PREDICATE)
        else:
            senses = torch.full_like(is_pred, NO_SENSE, dtype=torch.long).masked_fill(~is_pred, NOT_PREDICATE)
        return is_pred, unpad(senses, batch.lens.tolist())


def _has_predicates(batch) -> bool:
    gold = batch.gold.get("predicates")
    return gold is not None and bool((gold >= 0).any())


class PredicateHead(Predicates):
    """Predicates and their senses on their own, at a lower layer than the roles (LISA predicts them with POS);
    the SRL task above then labels the arguments of these predicates. Passes a softmax-weighted embedding of
    predicate / not predicate upward."""

    def __init__(self, n_in: int, n_senses: int, mlp_dim: int, label_dim: int, dropout: float):
        super().__init__(n_in, n_senses, mlp_dim, dropout)
        self.label_embeddings = nn.Linear(2, label_dim, bias=False)
        self.n_label_out = label_dim

    def forward(self, context) -> dict[str, torch.Tensor]:
        return self.predicate_scores(context.states)

    def label_embedding(self, scores) -> torch.Tensor:
        """``[batch_size, seq_len, label_dim]``."""
        return self.label_embeddings(scores["s_pred"].softmax(-1))

    def loss(self, scores, batch) -> torch.Tensor:
        return self.predicate_loss(scores, batch) if _has_predicates(batch) else scores["s_pred"].sum() * 0

    def decode(self, scores, batch) -> dict[str, list]:
        return {"senses": self.decode_predicates(scores, batch)[1]}


class SRLHead(Predicates):
    """Roles of each predicate's arguments; with ``own_predicates=False`` the predicates (and the ``s_pred`` and
    ``s_sense`` scores that :meth:`decode` reads) come from a :class:`PredicateHead` lower in the stack."""

    n_label_out = 0

    def __init__(self, n_in: int, roles: list[str], n_senses: int, mlp_dim: int, role_dim: int, dropout: float,
                 own_predicates: bool = True):
        super().__init__(n_in, n_senses, mlp_dim, dropout, enabled=own_predicates)
        self.span = is_bio(roles)
        self.role_pred, self.role_arg = MLP(n_in, role_dim, dropout), MLP(n_in, role_dim, dropout)
        self.role_weight = nn.Parameter(torch.zeros(len(roles), role_dim + 1, role_dim + 1))
        self.v = roles.index("B-V" if self.span else "V") if ("B-V" if self.span else "V") in roles else None
        self.crf = (ConditionalRandomField(len(roles), bio_transitions(roles), include_start_end_transitions=True)
                    if self.span else None)

    def forward(self, context) -> dict[str, torch.Tensor]:
        """``context.states [batch_size, seq_len, n_in]`` -> the role representations ``role_pred``, ``role_arg``
        ``[batch_size, seq_len, role_dim]`` that :meth:`role_scores` combines once predicates are chosen, and
        ``s_pred`` and ``s_sense`` (see :meth:`Predicates.predicate_scores`): its own, or those of the
        ``predicates`` task below (``context.below``)."""
        h = context.states
        scores = {"role_pred": self.role_pred(h), "role_arg": self.role_arg(h)}
        own = self.predicate_scores(h) if self.predicate is not None else context.below[PREDICATES]
        return own | scores

    def role_scores(self, scores, pred_index: torch.Tensor) -> torch.Tensor:
        """``pred_index [batch_size, n_pred]`` (word positions) -> ``s_role [batch_size, n_pred, seq_len, n_roles]``."""
        role_pred = scores["role_pred"].gather(1, pred_index[..., None].expand(-1, -1, scores["role_pred"].shape[-1]))
        role_pred = F.pad(role_pred, (0, 1), value=1.0)  # (batch, n_pred, role_dim + 1): a bias term
        role_arg = F.pad(scores["role_arg"], (0, 1), value=1.0)  # (batch, seq, role_dim + 1)
        return torch.einsum("bpx,rxy,bsy->bpsr", role_pred, self.role_weight.to(role_pred.dtype), role_arg)

    def constrain(self, s_role: torch.Tensor, pred_index: torch.Tensor) -> torch.Tensor:
        """Force the V label on each predicate's own word (and, head-based, forbid it elsewhere)."""
        if self.v is None:
            return s_role
        own = torch.zeros(s_role.shape[:3], dtype=torch.bool, device=s_role.device)  # (batch, n_pred, seq)
        own.scatter_(2, pred_index[..., None], True)
        s_role = s_role.float().clone()
        if not self.span:
            s_role[..., self.v] = s_role[..., self.v].masked_fill(~own, -1e4)
        is_v = torch.zeros(s_role.shape[-1], dtype=torch.bool, device=s_role.device)
        is_v[self.v] = True
        return s_role.masked_fill(own[..., None] & ~is_v, -1e4)

    def loss(self, scores, batch) -> torch.Tensor:
        """Predicate and sense cross-entropy (with its own predicates), plus the role loss of the gold predicates:
        cross-entropy per (predicate, word), or the CRF's negative log-likelihood per word."""
        if not _has_predicates(batch):
            return scores["role_arg"].sum() * 0
        loss = self.predicate_loss(scores, batch) if self.predicate is not None else scores["role_arg"].sum() * 0
        roles = batch.gold.get("roles")  # (batch, n_pred, seq)
        if roles is None or not (roles >= 0).any():
            return loss
        s_role = self.role_scores(scores, batch.gold["pred_index"]).float()
        if not self.span:
            return loss + F.cross_entropy(s_role.flatten(0, 2), roles.flatten(), ignore_index=-100)
        mask = batch.mask[:, None, :].expand_as(roles)
        rows = ((roles >= 0) | ~mask).all(-1) & (roles >= 0).any(-1)  # (batch, n_pred) fully labelled predicates
        if not rows.any():
            return loss
        log_likelihood = self.crf(s_role[rows], roles[rows].clamp(min=0), mask[rows])
        return loss - log_likelihood / mask[rows].sum()

    def decode(self, scores, batch) -> dict[str, list]:
        """Per sentence: a sense id per word (:data:`NOT_PREDICATE`, :data:`NO_SENSE` or an index into the sense
        numbers) and a list of role-label ids per predicted predicate, predicates in sentence order."""
        lens = batch.lens.tolist()
        is_pred, senses = self.decode_predicates(scores, batch)
        predicates = [torch.nonzero(row[:n]).flatten().tolist() for row, n in zip(is_pred.cpu(), lens)]
        n_pred = max(map(len, predicates))
        roles = [[] for _ in lens]
        if n_pred:
            pred_index = torch.tensor([p + [0] * (n_pred - len(p)) for p in predicates], device=is_pred.device)
            s_role = self.constrain(self.role_scores(scores, pred_index).float(), pred_index)
            if self.span:
                seq_len = s_role.shape[2]
                mask = batch.mask[:, None, :].expand(-1, n_pred, -1).reshape(-1, seq_len)
                labels = self.crf.decode(s_role.reshape(-1, seq_len, s_role.shape[-1]), mask)
                for i, p in enumerate(predicates):
                    roles[i] = [labels[i * n_pred + j] for j in range(len(p))]
            else:
                best = s_role.argmax(-1).tolist()  # (batch, n_pred, seq), one tolist for the batch
                roles = [[best[i][j][:n] for j in range(len(p))] for i, (p, n) in enumerate(zip(predicates, lens))]
        return {"senses": senses, "roles": roles}
