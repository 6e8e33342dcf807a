"""A loaded model with a plain Python API: annotate sentences, score sentence pairs."""
from __future__ import annotations

from hierarchy.core.persistence import load_model, resolve_device
from hierarchy.core.predict import Predictor, check_precision
from hierarchy.core.text import sentencizer, text_sentences
from hierarchy.io import Sentence
from hierarchy.io.pairs import tokenize


class Pipeline:
    """``model``, ``config`` and ``vocabs`` of a model directory on one device; ``precision`` as in
    :func:`~hierarchy.core.predict.autocast` (``bf16`` speeds up CPUs that compute in bf16: AMX, AVX512-BF16).

    >>> nlp = Pipeline.load("models/jmt")                                      # doctest: +SKIP
    >>> nlp.annotate(["The cat sat on the mat ."])[0].heads                     # doctest: +SKIP
    >>> nlp.pairs([("A man is playing a guitar.", "A person plays music.")])    # doctest: +SKIP
    [{'label': 'ENTAILMENT', 'probabilities': {...}, 'relatedness': 4.1}]
    """

    def __init__(self, model, config, vocabs, device, precision: str = "auto"):
        self.model, self.config, self.vocabs, self.device = model, config, vocabs, device
        self.precision = check_precision(precision)

    @classmethod
    def load(cls, path, device: str = "auto", precision: str = "auto") -> "Pipeline":
        torch_device = resolve_device(device)
        model, config, vocabs = load_model(path, torch_device)
        return cls(model, config, vocabs, torch_device, precision)

    def annotate(self, sentences, batch_tokens: int = 4000, split: bool = True) -> list[Sentence]:
        """Every sentence layer of the model for each item of ``sentences``: a :class:`Sentence`, a list of words,
        or a text. A text is tokenized and split into sentences by spaCy's tokenizer and sentencizer of the model's
        language (``model.lang``), as ``hierarchy annotate`` does (``split=False``: each text is one sentence).
        Returns the annotated Sentences in order, a text's sentences one after the other."""
        items = []
        for s in sentences:
            if isinstance(s, str) and split:
                items += text_sentences(sentencizer(self.config.model.lang), s)
            elif isinstance(s, str):
                items.append(Sentence(tokenize(s)))
            else:
                items.append(s if isinstance(s, Sentence) else Sentence(list(s)))
        return Predictor(self.model, self.vocabs, self.device, self.precision, batch_tokens)(items)

    def pairs(self, pairs, batch_tokens: int = 4000) -> list[dict]:
        """The pair layers of the model for ``[(premise, hypothesis), ...]`` (texts, word lists or Pairs), in
        batches: ``{"relatedness", "label", "probabilities"}`` per pair."""
        return Predictor(self.model, self.vocabs, self.device, self.precision, batch_tokens).pairs(pairs)

