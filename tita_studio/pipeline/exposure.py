"""Exposure values of a bracket from its metadata: the order of the frames and how many stops each is from
the reference frame.

A frame's brightness is proportional to exposure time x ISO / aperture^2; a factor counts only when every
frame records it (a factor missing everywhere is taken as equal). The exposure compensation the camera was
set to is already in the time, aperture and ISO it chose, so it is kept for display and not counted again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from tita_studio.pipeline.source import Exposure, SourceImage


def light_values(sources: Sequence[SourceImage]) -> list[float] | None:
    """Relative brightness of each frame from its metadata; None unless every frame records a time."""
    exposures = [s.meta.exposure for s in sources]
    if any(e is None or not e.time or e.time <= 0 for e in exposures):
        return None
    known = [e for e in exposures if e is not None]
    use_iso = all(e.iso for e in known)
    use_aperture = all(e.aperture for e in known)
    return [e.time * (e.iso if use_iso else 1.0) / (e.aperture**2 if use_aperture else 1.0)  # type: ignore[operator]
            for e in known]


def relative_evs(sources: Sequence[SourceImage], reference: int) -> list[float | None]:
    """Stops each frame is brighter than `sources[reference]` (None for every frame when the metadata
    cannot tell)."""
    light = light_values(sources)
    if light is None:
        return [None] * len(sources)
    return [math.log2(v / light[reference]) for v in light]


def with_relative_ev(sources: Sequence[SourceImage], reference: int) -> list[SourceImage]:
    """The sources with `meta.exposure.ev` set against the reference (new objects; the given ones are left
    as they are)."""
    evs = relative_evs(sources, reference)
    out = []
    for source, ev in zip(sources, evs, strict=True):
        if ev is None or source.meta.exposure is None:
            out.append(source)
            continue
        meta = replace(source.meta, exposure=replace(source.meta.exposure, ev=round(ev, 3)))
        out.append(replace(source, meta=meta))
    return out


def exposure_of(time: float | None, aperture: float | None, iso: float | None,
                bias: float | None) -> Exposure | None:
    """An Exposure from recorded values (zero or negative means not recorded); None when nothing is."""
    values = [v if v is not None and v > 0 else None for v in (time, aperture, iso)]
    if all(v is None for v in values) and bias is None:
        return None
    return Exposure(*values, bias=bias)
