"""Argument types shared by the subcommands, so every command accepts the same spellings."""

from __future__ import annotations

import argparse

from tita_studio.engine.device import canonical_precision
from tita_studio.engine.quality import check_quality
from tita_studio.errors import InputError

PRECISION_HELP = "float32 (fp32), bfloat16 (bf16) or float16 (fp16, GPUs only)"


def precision_arg(text: str) -> str:
    """argparse type: any accepted spelling of a precision, as its canonical name."""
    try:
        return canonical_precision(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def quality_arg(text: str) -> str:
    """argparse type: fast, full or auto; a number gets the JPEG option's new name."""
    if text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"--quality now chooses the fusion path (fast, full or auto); for a "
                                         f"JPEG quality of {text} use --jpeg-quality {text}")
    try:
        return check_quality(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
