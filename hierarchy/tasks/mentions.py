"""Entity mentions (``mentions``): the outermost mentions of a sentence with their type (person, place,
organization, object, event, time, abstract, substance, animal, plant in GUM), as BIO tags with a CRF, read from
the ``Entity`` brackets of CoNLL-U MISC (UD English GUM; :mod:`hierarchy.io.entities`). Nested mentions are
left out. In spaCy: ``doc.ents`` and ``doc.spans["mentions"]``."""
from hierarchy.io.entities import read_mentions, write_mentions
from hierarchy.tasks.bio import bio_spec

SPEC = bio_spec(
    "mentions", "entity mentions", "mentions", read=lambda path, data: read_mentions(path, data.skip_bad),
    column="HIERARCHY:MENTION", flag="mentions", spans_key="mentions", json_spans="mention_spans", ents=True,
    file=(".mentions.conllu", lambda path, gold, predicted, data: write_mentions(path, predicted)),
)
