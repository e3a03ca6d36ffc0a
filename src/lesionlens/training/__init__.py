"""Training: the only stage that wires models, data and losses together (Lightning)."""

from .config import TrainConfig
from .methods import METHODS, Method
from .run import load_run
from .trainer import train

__all__ = ["METHODS", "Method", "TrainConfig", "load_run", "train"]
