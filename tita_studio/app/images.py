"""numpy -> QImage / QPixmap, copying so no QImage aliases a numpy buffer (that behaviour changed
between PySide6 versions)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(array: np.ndarray) -> QImage:
    """uint8 (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA -> an independent QImage."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt, bpl = QImage.Format.Format_Grayscale8, w
    elif a.shape[2] == 3:
        fmt, bpl = QImage.Format.Format_RGB888, 3 * w
    else:
        fmt, bpl = QImage.Format.Format_RGBA8888, 4 * w
    return QImage(a.data, w, h, bpl, fmt).copy()


def to_pixmap(array: np.ndarray) -> QPixmap:
    """GUI thread only."""
    return QPixmap.fromImage(to_qimage(array))
