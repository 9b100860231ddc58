"""Longest event-loop stall of the window during one fusion (target: under 100 ms).

A QTimer ticks every 10 ms in the GUI thread while the window fuses the demo IR/visible pair (preview
then full size); the longest gap between ticks, minus the 10 ms period, is the stall. Prints the
numbers; nothing is asserted (wall-clock times depend on the machine).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_stall.py [--model FILE] [--method NAME]
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

from tita_studio.app.window import MainWindow
from tita_studio.cli.gui import DEMO_PAIR

PERIOD_MS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="weights file (default: a tiny untrained model)")
    parser.add_argument("--method", default="tita")
    parser.add_argument("--preview", type=int, default=256)
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
        window.presenter.preview_ready.connect(lambda _: marks.setdefault("preview", time.perf_counter()))
        window.presenter.result_ready.connect(lambda _: (marks.setdefault("full", time.perf_counter()), app.quit()))
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
    if "preview" in marks:
        print(f"preview on screen after {marks['preview'] - start:.2f} s")
    print(f"full result after {marks.get('full', float('nan')) - start:.2f} s, {len(gaps)} ticks")
    print(f"longest event-loop stall: {stalls[0]:.1f} ms (next: {', '.join(f'{s:.1f}' for s in stalls[1:4])} ms)")


if __name__ == "__main__":
    main()
