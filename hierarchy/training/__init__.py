"""Training: the loop (:class:`Trainer`), the samplers that pick each step's tasks, the weightings that combine
their losses, the optimizer and checkpoints."""
from .corpora import load_corpora
from .loop import Trainer, check_output, regularization
from .optim import make_optimizer
from .samplers import SAMPLERS
from .weighting import WEIGHTINGS

__all__ = ["SAMPLERS", "WEIGHTINGS", "Trainer", "check_output", "load_corpora", "make_optimizer", "regularization"]
