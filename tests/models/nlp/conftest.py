"""One insight engine per test session (e5 on onnxruntime + heads + rules; loads in about 2 s)."""

from __future__ import annotations

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.nlp.engine import DealtalkInsightEngine, load_engine


@pytest.fixture(scope="session")
def engine() -> DealtalkInsightEngine:
    # Needs the e5 export in the model cache (scripts/setup.sh runs `python -m dealtalk.models.e5`).
    return load_engine(Settings.load())
