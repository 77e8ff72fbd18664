"""The demo stack: replay targets, the scrape loop and the embedded store in one command."""

from ._replay import ReplayScenario, ReplayServer, ServedScenario
from ._run import DemoSummary, demo_scenarios, run_demo

__all__ = ["DemoSummary", "ReplayScenario", "ReplayServer", "ServedScenario", "demo_scenarios", "run_demo"]
