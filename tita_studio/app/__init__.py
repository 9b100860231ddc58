"""The desktop window (PySide6). Everything Qt lives in this package; the numeric core has no Qt.

Layout: `config` (dataclasses), `overlays` / `readout` / `export` (numeric, Qt-free), `state` (the
model: sources, settings, result, overlay choice, the shared view state), `worker` (fusion in a QThread),
`presenter` (logic, no widgets), and the widgets: `panes`, `panels`, `window`.
"""

import os

os.environ.setdefault("QT_DRIVER", "PySide6")
