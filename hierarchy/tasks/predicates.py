"""Predicates and their rolesets on their own (``predicates``), lower in the stack than the roles: LISA predicts
them with POS, and the ``srl`` task above labels the arguments of the predicates found here. Reads, builds its
tables and writes like ``srl`` (:mod:`hierarchy.tasks.srl`)."""
from hierarchy.tasks.spec import TaskSpec
from hierarchy.tasks.srl import FORMATS, KEY, gold, labels, read, rows, sense_strings
from hierarchy.tasks.srl_heads import PREDICATES, PredicateHead
from hierarchy.tasks.srl_metrics import PredicateMetric


def _predicate_head(n_in, config, vocabs, layer, tasks, n_embed) -> PredicateHead:
    return PredicateHead(n_in, len(vocabs.labels["senses"]), config.mlp_dim, config.label_dim, config.dropout)


def _predicate_metric(predicted, gold_sentences, vocabs) -> dict:

    m = PredicateMetric()
    for p, g in zip(predicted, gold_sentences):
        if g.senses is not None:
            m.update(p.senses, None, g.senses, None)
    return {PREDICATES: m}


SPEC = TaskSpec(
    name=PREDICATES, title="predicates", data_key="srl", flag=KEY, read=read, options={"srl_format": FORMATS},
    fields=("senses",), labels=labels, head=_predicate_head, gold=gold,
    predictions=lambda values, vocabs, s: {"senses": sense_strings(values["senses"], vocabs, s)},
    metric=_predicate_metric, rows=lambda name, m: rows(name, m)[:2], annotated=lambda s: s.senses is not None,
)
