"""A one-line progress bar on stderr (only when stderr is a terminal, or when forced)."""

from __future__ import annotations

import sys
import time


class ProgressLine:
    """Callable with a fraction in [0, 1]; redraws at most ten times a second."""

    def __init__(self, label: str, enabled: bool | None = None, width: int = 30) -> None:
        self.label, self.width = label, width
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and fraction < 1.0):
            return
        self.last = now
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {100 * fraction:5.1f}% {now - self.start:6.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
