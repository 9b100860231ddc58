"""Configuration of the window, one dataclass per concern."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FALLBACK_METHOD = "laplacian"  # used when no TITA weights load
PREVIEW_BASELINE = "laplacian"  # the instant classical preview shown while TITA runs


@dataclass(frozen=True)
class FusionSettings:
    """What the worker runs; remembered between sessions (see `settings_store`)."""

    method: str = "tita"
    kind: str = "auto"  # the kind of input (pipeline.kinds): auto decides from the pixels
    align: str = "auto"
    model: str = ""  # empty: the shipped weights
    device: str = "auto"
    precision: str = "auto"  # auto: the fastest that agrees with float32, measured once per machine
    backend: str = "auto"  # torch | openvino | auto (whichever is measured faster here)
    preview_side: int = 192  # longest side of the previews (one 256 px tile); 0 turns the previews off
    deghost: str = "auto"  # auto (on for a hand-held bracket) | on | off; see pipeline.deghost
    quality: str = "auto"  # the network's path: auto (fast above a size) | fast | full; see engine.quality

    @property
    def model_path(self) -> Path | None:
        return Path(self.model) if self.model else None

    def engine_key(self) -> tuple[str, ...]:
        """The engine is reloaded only when this changes."""
        return self.model, self.device, self.precision, self.backend


@dataclass(frozen=True)
class WorkerConfig:
    """Tiles of the window's engine: smaller than the CLI's so a cancel or a new job waits less."""

    tile: int = 256
    overlap: int = 32


@dataclass(frozen=True)
class ViewConfig:
    """Zoom limits and steps of the synced panes."""

    min_zoom: float = 1 / 64
    max_zoom: float = 64.0
    wheel_step: float = 1.25  # zoom factor per wheel notch
    fit_margin: float = 0.98
    swipe_grab_px: int = 8  # how close to the swipe divider a press grabs it


@dataclass(frozen=True)
class OverlaySpec:
    """Which map is drawn over the panes, and how.

    kind: none | oaf (dominant OAF branch) | oaf-share (one branch's share) | ipa (cross-attention share)
    | relation (IPA relation score). block: 0 = mean over the ISF blocks, else 1..8. term: index into
    OAF_TERMS for oaf-share.
    """

    kind: str = "none"
    term: int = 0
    block: int = 0
    stream: str = "A"
    colormap: str = "viridis"
    opacity: float = 0.6
    clip_percent: float = 1.0  # percentile clipping at both ends (continuous maps)
    on_sources: bool = False  # draw on the source panes too


@dataclass(frozen=True)
class InspectConfig:
    """Click-inspect: which block/stream the probe uses and how large the head heat maps are."""

    block: int = 4  # 1..8
    stream: str = "A"
    cell_px: int = 10  # screen pixels per attention cell in the head heat maps


@dataclass(frozen=True)
class MetricsConfig:
    """The metrics the panel computes (MEF-SSIM added for brackets)."""

    names: tuple[str, ...] = ("MI", "FMI", "Qabf", "VIF", "SSIM")
    bracket_extra: tuple[str, ...] = ("MEF-SSIM",)
    convention: str = "standard"
