"""A competitor that only the CRM knows (its competitor table, not ``DEALTALK_NLP__COMPETITORS``) is a
``competitor_mention`` risk in ``dealtalk analyze``'s call result; with the CRM's table turned off it is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.samples import CRM_FIXTURE
from tests.support.cli import dealtalk

ONLY_IN_CRM = "Brightshine"


@pytest.mark.models
def test_a_competitor_only_in_the_crm_table_is_a_risk(tmp_path: Path) -> None:
    assert ONLY_IN_CRM not in Settings.load(data_dir=tmp_path / "data").nlp.competitors
    crm = json.loads(CRM_FIXTURE.read_text(encoding="utf-8"))
    crm["competitors"].append({"competitorid": "1b7c9d2e-0000-5000-8000-00000000b51e", "name": ONLY_IN_CRM})
    crm_file = tmp_path / "crm.json"
    crm_file.write_text(json.dumps(crm), encoding="utf-8")
    transcript = tmp_path / "call.json"
    segments = [
        ("seller", "How are things going with the renewal?"),
        ("customer", f"We have also spoken to {ONLY_IN_CRM} about this contract."),
    ]
    transcript.write_text(
        json.dumps(
            {
                "language": "en",
                "segments": [
                    {
                        "speaker": f"S{i + 1}",
                        "role": role,
                        "start": 4.0 * i,
                        "end": 4.0 * i + 3.5,
                        "text": text,
                    }
                    for i, (role, text) in enumerate(segments)
                ],
            }
        )
    )

    def risks(**env: str) -> list[dict[str, object]]:
        out = tmp_path / "out.json"
        done = dealtalk("analyze", str(transcript), "--json", str(out), cwd=tmp_path, **env)
        assert done.returncode == 0, done.stderr
        found: list[dict[str, object]] = json.loads(out.read_text())["risks"]
        return found

    with_crm = risks(DEALTALK_CRM__FIXTURE_PATH=str(crm_file))
    mention = [r for r in with_crm if r["type"] == "competitor_mention"]
    assert mention and ONLY_IN_CRM in str(mention[0]["quote"]) and mention[0]["speaker"] == "S2"
    without = risks(DEALTALK_CRM__FIXTURE_PATH=str(crm_file), DEALTALK_CRM__COMPETITORS_FROM_CRM="false")
    assert "competitor_mention" not in [r["type"] for r in without]
