"""What a view asks of the presenter: user intents as signals, declared once.

A view owns one `ViewIntents` and emits on it; the presenter listens (`StudioPresenter.attach`). The
window and the presenter tests' fake view share this declaration, so they cannot drift apart.
QtCore only: no widgets, no display.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class ViewIntents(QObject):
    """User intents; arguments are plain Python values."""

    open_requested = Signal(object, bool)  # paths (files or folders), add to the current set
    remove_requested = Signal(int)  # source index
    reference_requested = Signal(int)  # source index of the reference frame, -1: automatic
    settings_requested = Signal(dict)  # FusionSettings fields to change
    cancel_requested = Signal()
    overlay_named = Signal(str)  # an overlay by name (map_render.OVERLAY_NAMES or "none")
    overlay_requested = Signal(dict)  # OverlaySpec fields to change
    compare_requested = Signal(dict)  # StudioModel.set_compare keywords
    inspect_requested = Signal(float, float)  # scene point whose result pixel to inspect
    inspect_settings_requested = Signal(dict)  # InspectConfig fields to change
    metrics_requested = Signal(bool)  # with the classical baselines
    export_image_requested = Signal(str, object)  # path, bit depth (None: as the reference)
    export_maps_requested = Signal(str)  # folder
    export_report_requested = Signal(str)  # path
