"""TITA Studio: unified image fusion with the TITA network (ICCV 2025)."""

__version__ = "0.1.0"
