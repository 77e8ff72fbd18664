"""Lets the steady-state tests reuse the parser's exposition generators."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
