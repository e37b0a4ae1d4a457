"""The generation store: everything a generation writes and reads, on one Database.

`GenerationStore(db)` creates generations, records them while they run (`Recording`:
chunks, events, attempts, checkpoint segments, heartbeat, discovery and plan rows),
reads what is stored, reopens interrupted generations for a resume and marks those whose
process died. Statuses are `GenerationStatus`.
"""

from planner.store.errors import GenerationNotFound, GenerationNotResumable
from planner.store.generations import GenerationStore
from planner.store.lease import Lease, LeaseLost
from planner.store.liveness import claim, held_here, release, running_here
from planner.store.pending import Positions, RowWrite
from planner.store.recording import Recording, RecordingError
from planner.store.spec import GenerationSpec, ResumePoint, StoredGeneration
from planner.store.status import FINISHED_STATUSES, LIVE_STATUSES, GenerationStatus

__all__ = [
    "FINISHED_STATUSES",
    "LIVE_STATUSES",
    "GenerationNotFound",
    "GenerationNotResumable",
    "GenerationSpec",
    "GenerationStatus",
    "GenerationStore",
    "Lease",
    "LeaseLost",
    "Positions",
    "Recording",
    "RecordingError",
    "ResumePoint",
    "RowWrite",
    "StoredGeneration",
    "claim",
    "held_here",
    "release",
    "running_here",
]
