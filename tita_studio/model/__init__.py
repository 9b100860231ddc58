"""The TITA network (Qt-free): blocks, maps, the official-checkpoint converter and weights on disk."""

from tita_studio.model.config import TITAConfig
from tita_studio.model.maps import FusionMaps
from tita_studio.model.tita import TITA

__all__ = ["TITA", "FusionMaps", "TITAConfig"]
