"""Chunks (NP, VP, PP...) as BIO tags with a CRF, from CoNLL-2000 files (JMT's second layer)."""
from hierarchy.io import read_conll2000, write_conll2000
from hierarchy.tasks.bio import bio_spec

SPEC = bio_spec(
    "chunks", "chunks", "chunks", read=lambda path, data: read_conll2000(path, data.skip_bad),
    column="HIERARCHY:CHUNK", flag="chunks", spans_key="chunks", json_spans="chunk_spans",
    file=(".chunks.txt",
          lambda path, gold, predicted, data: write_conll2000(path, gold, [p.chunks for p in predicted])),
)
