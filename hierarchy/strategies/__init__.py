"""Training strategies: the samplers that pick each step's tasks and the weightings that combine their losses, each
a small class with its state in the checkpoint, and the gradient diagnostics they share. The recipe names them
(``train.sampling``, ``train.weighting``)."""
from hierarchy.strategies.samplers import SAMPLERS
from hierarchy.strategies.weighting import WEIGHTINGS

__all__ = ["SAMPLERS", "WEIGHTINGS"]
