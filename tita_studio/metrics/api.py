"""`score`: every requested metric of a fused image against its sources, in one convention."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.errors import InputError
from tita_studio.metrics.conventions import check_convention, planes, prepare
from tita_studio.metrics.registry import METRICS, default_metrics, resolve


def score(sources: Sequence[np.ndarray], fused: np.ndarray, metrics: Sequence[str] | str | None = None,
          convention: str = "standard") -> dict[str, float]:
    """Score `fused` against `sources`; returns {metric name: value} in the order asked.

    Images: uint8, uint16 (/257) or float in [0, 1] (*255), grey or RGB (see conventions).  `metrics`:
    names or a comma-separated string (case-insensitive); None gives the convention's default set.
    """
    check_convention(convention)
    src, fus = prepare(sources, fused)
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    names = default_metrics(len(src), convention) if metrics is None else resolve(metrics)
    if not names:
        raise InputError("no metrics requested")
    groups = planes(src, fus, convention)
    result: dict[str, float] = {}
    for name in names:
        metric = METRICS[name]
        if metric.exact_sources is not None and len(src) != metric.exact_sources:
            raise InputError(f"{name} needs exactly {metric.exact_sources} sources, got {len(src)}")
        if name == "SF" and convention == "vifb":
            fused_side_by_side = np.hstack([f for _, f in groups])
            result[name] = metric.fn([], fused_side_by_side, convention)
        else:
            result[name] = float(np.mean([metric.fn(s, f, convention) for s, f in groups]))
    return result
