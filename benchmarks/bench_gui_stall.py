"""Longest event-loop stall of the window during one fusion (target: under 100 ms).

A QTimer ticks every 10 ms in the GUI thread while the window fuses the demo IR/visible pair (classical
preview, TITA preview, then full size); the longest gap between ticks, minus the 10 ms period, is the
stall. Also prints when each stage reached the screen; nothing is asserted (wall-clock times depend on
the machine and its load).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_stall.py [--model FILE] [--method NAME]
        [--preview SIDE] [--previews-only]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tita_studio.app.config import FusionSettings
from tita_studio.app.state import BASELINE, Outcome
from tita_studio.app.window import MainWindow
from tita_studio.cli.gui import DEMO_PAIR

PERIOD_MS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="weights file (default: a tiny untrained model)")
    parser.add_argument("--method", default="tita")
    parser.add_argument("--preview", type=int, default=FusionSettings().preview_side)
    parser.add_argument("--previews-only", action="store_true", help="stop once the TITA preview is shown")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if not model:
            from tita_studio.model.config import TITAConfig
            from tita_studio.model.tita import TITA
            from tita_studio.model.weights import save_weights

            model = str(Path(tmp) / "tiny.safetensors")
            config = TITAConfig(embed_dim=12, shallow_dim=6, extract_depth=1, fusion_depth=4, recon_depth=1)
            save_weights(TITA(config), Path(model), trained=False)
        window = MainWindow(settings_path=Path(tmp) / "s.ini",
                            overrides={"model": model, "method": args.method, "preview_side": args.preview},
                            interactive_errors=False)
        window.resize(1400, 860)
        window.show()
        gaps: list[float] = []
        last = [time.perf_counter()]
        marks: dict[str, float] = {}

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(PERIOD_MS)
        timer.timeout.connect(tick)
        def shown(outcome: Outcome) -> None:
            marks.setdefault(outcome.stage, time.perf_counter())
            if outcome.is_full or (args.previews_only and outcome.stage == "preview"):
                app.quit()

        window.presenter.preview_ready.connect(shown)
        window.presenter.result_ready.connect(shown)
        QTimer.singleShot(600_000, app.quit)
        start = time.perf_counter()
        last[0] = start
        timer.start()
        window.open_paths(list(DEMO_PAIR))
        app.exec()
        timer.stop()
        window.close()
    stalls = sorted((g * 1000 - PERIOD_MS for g in gaps), reverse=True)
    print(f"model: {window.model.engine.description or 'none'}; method {window.model.result.method}")
    print(f"preview side {args.preview}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for stage, label in ((BASELINE, "classical preview"), ("preview", "TITA preview"), ("full", "full result")):
        if stage in marks:
            print(f"{label} on screen after {marks[stage] - start:.2f} s")
    print(f"{len(gaps)} ticks")
    print(f"longest event-loop stall: {stalls[0]:.1f} ms (next: {', '.join(f'{s:.1f}' for s in stalls[1:4])} ms)")


if __name__ == "__main__":
    main()
