"""Reading a TOML file the user named (Qt-free): every problem is an InputError naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from tita_studio.errors import InputError


def read_toml(path: str | Path, missing: str) -> dict[str, Any]:
    """The file's tables; InputError "PATH: `missing`" when there is no such file, "PATH: not valid TOML"
    when it does not parse."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: {missing}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc
