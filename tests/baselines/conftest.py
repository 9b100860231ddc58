"""Fixtures for the baseline tests: real data from ../shared/datasets (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip("../shared/datasets is not beside the repository")
    return DATASETS
