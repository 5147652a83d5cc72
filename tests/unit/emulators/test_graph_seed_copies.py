"""The sandbox's load copies are separate calls the product accepts: own ids and audio it has not seen."""

from __future__ import annotations

import hashlib

from dealtalk.emulators.graph.seed import seed_samples
from dealtalk.emulators.graph.state import Tenant
from dealtalk.samples import CALLS_DIR

SAMPLES = CALLS_DIR


def test_copies_have_their_own_ids_and_audio() -> None:
    recordings = seed_samples(Tenant("sandbox"), SAMPLES, copies=2)
    assert len(recordings) == 6
    assert len({r.id for r in recordings}) == 6
    assert len({hashlib.sha256(r.content).hexdigest() for r in recordings}) == 6
    assert sum(r.id.endswith("-copy2") for r in recordings) == 3
