"""The exporter tests' fixtures (``tests/exporters/conftest.py``), importable by tests elsewhere.

The receiver's and the ingest process's tests use the same data and chDB stores; a
``conftest`` is not importable by name (``tests/`` also shadows the ``exporters`` package),
so it is loaded once from its path here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "exporter_test_fixtures"

if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parent / "exporters" / "conftest.py")
    _module = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)  # type: ignore[union-attr]
fixtures = sys.modules[_NAME]
