"""Shared test fixtures: paths to the project's test data; `tests/` on sys.path for test helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
DATA = TESTS / "data"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _release_embedded_engine():
    """chDB hosts one data directory per process: close it after each test so the next test
    can open its own ``tmp_path`` store."""
    yield
    from exporters.clickhouse import close_embedded_engines

    close_embedded_engines()
