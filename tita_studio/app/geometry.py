"""Scene coordinates against image pixels: the one mapping every pane, read-out and probe uses.

Every pane maps its image into one scene (the size of the full result, or of the first source before
it): a source, the result, a preview or a map at another resolution all stretch over the same scene.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneMap:
    """An image of `rows` x `cols` pixels stretched over a scene of `width` x `height`."""

    width: float
    height: float
    rows: int
    cols: int

    def to_pixel(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the pixel under scene point (x, y), or None outside the image."""
        if not (0 <= x < self.width and 0 <= y < self.height) or self.rows <= 0 or self.cols <= 0:
            return None
        return min(self.rows - 1, int(y * self.rows / self.height)), min(self.cols - 1, int(x * self.cols / self.width))

    def to_scene(self, row: float, col: float) -> tuple[float, float]:
        """Scene (x, y) of a pixel position (row, col); add 0.5 to each for a pixel's centre."""
        return col * self.width / self.cols, row * self.height / self.rows

    def pixel_box(self, row0: int, col0: int, row1: int, col1: int) -> tuple[float, float, float, float]:
        """(x, y, width, height) in the scene of the pixels rows row0..row1, cols col0..col1 (inclusive)."""
        x, y = self.to_scene(row0, col0)
        x1, y1 = self.to_scene(row1 + 1, col1 + 1)
        return x, y, x1 - x, y1 - y
