"""Entry point: parses the subcommand, runs it, and turns errors into one line and an exit code.

Exit codes: 0 done, 2 bad usage or input, 1 failure, 130 cancelled by Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from tita_studio import __version__
from tita_studio.cli import eval, fuse, gui, info, score, train
from tita_studio.errors import Cancelled, InputError, TitaError

SUBCOMMANDS = [eval, fuse, gui, info, score, train]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tita-studio", description="Unified image fusion with TITA.")
    parser.add_argument("--version", action="version", version=f"tita-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("tita-studio: cancelled; nothing half-written was left behind", file=sys.stderr)
        return 130
    except Cancelled as exc:
        print(f"tita-studio: {exc}", file=sys.stderr)
        return 130
    except InputError as exc:
        if args.debug:
            raise
        print(f"tita-studio: error: {exc}", file=sys.stderr)
        return 2
    except TitaError as exc:
        if args.debug:
            raise
        print(f"tita-studio: failed: {exc}", file=sys.stderr)
        return 1
