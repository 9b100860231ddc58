"""Which runtime executes the network: PyTorch (the reference, training and GPUs) or OpenVINO (CPU inference)."""

from __future__ import annotations

import importlib.util

from tita_studio.errors import InputError

BACKENDS = ("auto", "torch", "openvino")


def openvino_available() -> bool:
    """Whether the optional `openvino` extra is installed (pip install tita-studio[openvino])."""
    return importlib.util.find_spec("openvino") is not None


def check_backend(name: str) -> str:
    """The backend name, lower-cased; unknown or uninstalled choices are InputErrors that say what to do."""
    key = str(name).strip().lower()
    if key not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if key == "openvino" and not openvino_available():
        raise InputError("the openvino backend is not installed: pip install 'tita-studio[openvino]' "
                         "(or -e '.[openvino]' in a checkout), or use --backend torch")
    return key
