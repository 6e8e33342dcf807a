"""hierarchy: one network whose successive layers predict POS tags, chunks, entity mentions, dependency trees,
semantic roles and sentence-pair relatedness and entailment (JMT, LISA). ``hierarchy.load(model_dir)`` gives a
:class:`~hierarchy.pipeline.Pipeline`.

This module stays light (nothing is imported until a model is loaded); spaCy imports
``hierarchy.spacy_component`` through its entry point whenever it builds a pipeline.
"""
__version__ = "0.1.0"
DISTRIBUTION = "hierarchy-nlp"  # the name on PyPI (``hierarchy`` there is another project); imported as hierarchy


def load(path, device: str = "auto", precision: str = "auto"):
    """Load a trained model directory: ``hierarchy.load("models/jmt").pairs([("A dog runs.", "A dog moves.")])``.
    ``precision``: auto (bf16 on CUDA, fp32 on CPU), bf16 or fp32."""
    from .pipeline import Pipeline

    return Pipeline.load(path, device, precision)
