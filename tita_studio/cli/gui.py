"""`tita-studio gui`: the desktop window; `--screenshot` renders it on files and exits (for docs and checks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tita_studio.errors import TitaError
from tita_studio.paths import RESOURCES_DIR
from tita_studio.pipeline.map_render import OVERLAY_NAMES

DEMO_PAIR = (RESOURCES_DIR / "demo" / "irvis_visible.png", RESOURCES_DIR / "demo" / "irvis_infrared.png")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gui", help="open the TITA Studio window (the bundled demo pair without files)")
    parser.add_argument("files", nargs="*", help="images or folders to open")
    parser.add_argument("--screenshot", metavar="OUT.png", help="wait for the full result, save the window, exit")
    parser.add_argument("--overlay", choices=("none", *OVERLAY_NAMES), default="none", help="overlay to show")
    parser.add_argument("--model", help="TITA weights file (default: the shipped weights)")
    parser.add_argument("--method", help="tita or a baseline name (default: the remembered choice)")
    parser.add_argument("--swipe", action="store_true", help="start in swipe view")
    parser.add_argument("--inspect", metavar="X,Y", help="click-inspect this result pixel once the result is in")
    parser.add_argument("--size", default="1400x860", help="window size WxH (default 1400x860)")
    parser.add_argument("--timeout", type=float, default=600.0, help="--screenshot gives up after this many seconds")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tita_studio.app.platform_check import platform_problem

    problem = platform_problem()
    if problem:  # Qt would abort with a paragraph the user cannot act on
        raise TitaError(problem)
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from tita_studio.app.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    overrides = {k: v for k, v in (("model", args.model), ("method", args.method)) if v}
    window = MainWindow(overrides=overrides, interactive_errors=not args.screenshot)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.set_overlay(args.overlay)
    window.swipe_action.setChecked(args.swipe)
    window.show()
    window.open_paths([Path(f) for f in args.files] or list(DEMO_PAIR))
    status = {"code": 0}
    if args.screenshot:
        out = Path(args.screenshot)

        def save() -> None:
            out.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(out))
            print(f"screenshot: {out}")
            window.close()

        def on_result() -> None:
            if args.inspect:
                x, y = (float(v) for v in args.inspect.split(","))
                window.presenter.inspect_at(x, y)
                window.docks["Inspect"].raise_()
                window.model.probe_changed.connect(lambda: QTimer.singleShot(300, save))
            else:
                QTimer.singleShot(300, save)

        def on_error(message: str, details: str) -> None:
            print(f"tita-studio gui: {message}", file=sys.stderr)
            status["code"] = 1
            window.close()

        def on_timeout() -> None:
            print("tita-studio gui: timed out waiting for the result", file=sys.stderr)
            status["code"] = 1
            window.close()

        window.presenter.result_ready.connect(on_result)
        window.presenter.error.connect(on_error)
        QTimer.singleShot(int(args.timeout * 1000), on_timeout)
    app.exec()
    return status["code"]
