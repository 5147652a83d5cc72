"""The bundled sample tenant: three recorded calls (audio, meeting sidecars, references), the dialogue scripts
they were made from (``scripts/make_samples.py``) and the CRM fixture in Dataverse's read shape (``crm.json``).

Its own folder, below every reader (the demo, the CRM fixture, the sandbox's emulated tenant), so none of them
reaches into another's package to find it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CALLS_DIR", "CRM_FIXTURE", "SAMPLES_DIR"]

SAMPLES_DIR = Path(__file__).resolve().parent
CALLS_DIR = SAMPLES_DIR / "calls"
CRM_FIXTURE = SAMPLES_DIR / "crm.json"
