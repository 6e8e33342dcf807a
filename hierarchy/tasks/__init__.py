"""Task heads. Each has ``forward(h, batch) -> scores``, ``loss(scores, batch)``, ``decode(scores, batch)``,
``label_embedding(scores)`` (when ``n_label_out > 0``) and ``fields``: the Sentence fields it predicts (for the
sentence-pair tasks, the keys of what ``decode`` returns per pair)."""
from .chunking import ChunkingTask
from .dependency import DependencyTask
from .pairs import EntailmentTask, RelatednessTask
from .srl import PredicateTask, SRLTask
from .tagging import TaggingTask


def make_task(name: str, n_in: int, config, vocabs, syntax_head: bool = False, tasks=()):
    """Build the head of task ``name`` reading states of size ``n_in``; ``syntax_head``: the layer's attention
    gives the dependency arcs; ``tasks``: all the tasks of the stack."""
    labels = vocabs.labels
    if name == "pos":
        n_labels = {f: len(labels[f]) for f in ("upos", "xpos")}
        return TaggingTask(n_in, n_labels, config.mlp_dim, config.label_dim, config.dropout)
    if name == "chunks":
        return ChunkingTask(n_in, labels["chunks"].itos, config.mlp_dim, config.label_dim, config.dropout)
    if name == "deps":
        rels = labels["rels"]
        return DependencyTask(n_in, len(rels), config.arc_dim, config.rel_dim, config.dropout, rels.stoi.get("root"),
                              own_arcs=not syntax_head)
    if name == "predicates":
        return PredicateTask(n_in, len(labels["senses"]), config.mlp_dim, config.label_dim, config.dropout)
    if name == "srl":
        roles, senses = labels["roles"].itos, labels["senses"]
        return SRLTask(n_in, roles, len(senses), config.mlp_dim, config.rel_dim, config.dropout,
                       own_predicates="predicates" not in tasks)
    if name == "relatedness":
        return RelatednessTask(n_in, config.mlp_dim, config.label_dim, config.dropout)
    if name == "entailment":
        return EntailmentTask(n_in, len(labels["entailment"]), config.mlp_dim, config.dropout)
    raise ValueError(f"unknown task {name!r}")


__all__ = ["ChunkingTask", "DependencyTask", "EntailmentTask", "PredicateTask", "RelatednessTask", "SRLTask",
           "TaggingTask", "make_task"]
