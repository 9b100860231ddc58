"""Training TITA with the published losses and FAMO task balancing (Qt-free)."""

from tita_studio.training.config import TrainConfig, load_config
from tita_studio.training.trainer import Trainer, TrainResult

__all__ = ["TrainConfig", "TrainResult", "Trainer", "load_config"]
