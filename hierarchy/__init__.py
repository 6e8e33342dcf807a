"""hierarchy: one network whose successive layers predict POS tags, chunks, entity mentions, dependency trees,
semantic roles and sentence-pair relatedness and entailment (JMT, LISA). ``hierarchy.load(model_dir)`` gives a
:class:`~hierarchy.pipeline.Pipeline`; ``hierarchy.evaluate(model_dir, conllu=...)`` scores a model per layer.

This module stays light (nothing is imported until a model is loaded or scored); spaCy imports
``hierarchy.spacy_component`` through its entry point whenever it builds a pipeline. The scoring lives in
``hierarchy.evaluation``, not ``hierarchy.evaluate``: a submodule of that name would replace this function.
"""
__version__ = "0.1.0"
DISTRIBUTION = "hierarchy-nlp"  # the name on PyPI (``hierarchy`` there is another project); imported as hierarchy


def load(path, device: str = "auto", precision: str = "auto"):
    """Load a trained model directory: ``hierarchy.load("models/jmt").pairs([("A dog runs.", "A dog moves.")])``.
    ``precision``: auto (bf16 on CUDA, fp32 on CPU), bf16 or fp32."""
    from hierarchy.pipeline import Pipeline  # lazy: torch and spaCy (see above)

    return Pipeline.load(path, device, precision)


def evaluate(model, **gold) -> dict:
    """Score the model directory ``model`` layer by layer on gold files, as ``hierarchy evaluate`` does:
    ``hierarchy.evaluate("models/jmt", conllu="dev.conllu", chunks="chunks-dev.txt")`` ->
    ``{"pos": {"upos": {"acc": 97.1}, ...}, "deps": {"deps": {"uas": ..., "las": ...}}, ...}``. Keywords: the gold
    files by flag (``conllu``, ``chunks``, ``mentions``, ``srl``, ``pairs``), their options (``srl_format``),
    ``inject_parse``, ``write_predictions``, ``device``, ``batch_tokens``, ``precision``
    (:func:`hierarchy.evaluation.evaluate`)."""
    from hierarchy.evaluation import evaluate as score  # lazy: torch (see above)

    return score(model, **gold)
