"""An Anthropic Messages API simulator with fault injection, for the real `anthropic` SDK.

with Simulator(faults="drop-at-90", speed=100) as sim:
    client = anthropic.Anthropic(api_key="x", base_url=sim.base_url, max_retries=0)
"""

from planner.sim.faults import REGISTRY as FAULT_TYPES
from planner.sim.faults import Fault, FaultSpec, FaultSpecError
from planner.sim.profiles import PROFILES, parse_fault_spec
from planner.sim.server import Simulator, embedded_simulator

__all__ = [
    "FAULT_TYPES",
    "PROFILES",
    "Fault",
    "FaultSpec",
    "FaultSpecError",
    "Simulator",
    "embedded_simulator",
    "parse_fault_spec",
]
