"""Training: the loop (:class:`Trainer`) with its optimizer, weight average, checkpoints, lock, data-parallel ranks
and the plots of its logs; the samplers and weightings it plugs in are :mod:`hierarchy.strategies`."""
from hierarchy.training.corpora import load_corpora
from hierarchy.training.loop import Trainer, check_output, regularization
from hierarchy.training.optim import make_optimizer

__all__ = ["Trainer", "check_output", "load_corpora", "make_optimizer", "regularization"]
