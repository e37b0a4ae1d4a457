"""An Anthropic Messages API simulator with fault injection, for the real `anthropic` SDK.

    with Simulator(faults="drop-at-90", speed=100) as sim:
        client = anthropic.Anthropic(api_key="x", base_url=sim.base_url, max_retries=0)

Model: the simulator serves the model it is handed (`Simulator(model=...)`, any
`AnswerModel`: the whole answer to a conversation's opening), plain prose by default,
and handles the conversation around it (prefill, continuation turns) without knowing
what the model is for. planner hands it its planning model from outside
(`planner.plan.model`), as a real API serves a model.

Time: every delay (first token, token pace, stalls, latency, retry-after values) is in
simulated seconds; `speed` divides them (speed 0 or inf: no waiting at all). Faults
that depend on time (`cutoff`, `reset.after_s`) follow the simulated schedule, so they
strike at the same point of the answer at any speed.

Per-request headers (names in `planner.protocol`): `x-planner-faults: SPEC` (overrides
the spec for this request), `x-planner-run: KEY` (numbers requests per key, 1-based, for
`on_requests`; without it all requests share one count), `x-planner-seed: INT`,
`x-planner-speed: FLOAT`. A key is a `planner.protocol.RunKey` (`<run id>:<scope>`): a
fault's `on_scope` limits it to one scope, and fault draws and delta sizes depend on
the seed and the scope, not the whole key, so equal seeds replay equal failures.

Fault spec: a profile name (see `PROFILES`) or a JSON list of faults such as
`[{"type": "reset", "toxicity": 1.0, "on_requests": [1], "at_fraction": 0.9}]`, parsed
once by `parse_fault_spec` into a `FaultSpec` whose `text` is its canonical form; the
fault types, their parameters and their behaviour are the classes in
`planner.sim.faults`.

Admin: `GET /admin/health`, `GET /admin/stats`, `GET /admin/faults`, `PUT /admin/faults`
(body: a spec).
"""

from planner.sim.answers import AnswerModel, FullAnswer, Opening, PlainProse
from planner.sim.errors import FaultSpecError, SimulatorNotRunning, SimulatorStartError, SpeedError
from planner.sim.faults import REGISTRY as FAULT_TYPES
from planner.sim.server import Simulator
from planner.sim.spec import PROFILES, FaultSpec, parse_fault_spec
from planner.sim.toxic import Fault

__all__ = [
    "FAULT_TYPES",
    "PROFILES",
    "AnswerModel",
    "Fault",
    "FaultSpec",
    "FaultSpecError",
    "FullAnswer",
    "Opening",
    "PlainProse",
    "Simulator",
    "SimulatorNotRunning",
    "SimulatorStartError",
    "SpeedError",
    "parse_fault_spec",
]
