import sys
from pathlib import Path

# the benchmarks are scripts run from bench/; their helpers import each other by module name
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
