"""The ``dealtalk`` command line as users and scripts call it: contract JSON out, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from dealtalk.samples import CALLS_DIR
from tests.support.cli import dealtalk

ENGLISH = CALLS_DIR / "call-en-northwind.flac"
RISK_LABELS = {
    "competitor_mention",
    "price_objection",
    "discount_request",
    "budget_constraint",
    "timeline_slip",
    "decision_maker_absent",
    "stakeholder_change",
    "contract_termination_threat",
    "procurement_tender",
    "legal_or_compliance_concern",
    "low_engagement",
    "scope_reduction",
}


def assert_call_result_contract(result: dict[str, Any]) -> None:
    """The keys of shared/contracts.md section 2 (more keys are allowed, none may be missing)."""
    assert {
        "call_id",
        "language",
        "duration_s",
        "models",
        "speakers",
        "segments",
        "kpis",
        "risks",
        "action_items",
        "summary",
    } <= set(result)
    assert {"asr", "diarization", "nlp"} <= set(result["models"])
    for model in result["models"].values():
        assert {"name", "sha256"} <= set(model)
    for speaker in result["speakers"]:
        assert {"id", "name", "email", "role"} <= set(speaker) and speaker["role"] in (
            "seller",
            "customer",
            "unknown",
        )
    for segment in result["segments"]:
        assert {"start", "end", "speaker", "role", "language", "text", "sentiment", "words"} <= set(segment)
        assert segment["sentiment"]["label"] in ("positive", "neutral", "negative")
        for word in segment["words"]:
            assert {"start", "end", "word", "speaker", "probability"} <= set(word)
    assert {"duration_s", "switch_count", "customer_longest_monologue_ms"} <= set(result["kpis"]["call"])
    for kpis in result["kpis"]["per_speaker"].values():
        assert {
            "talk_ratio",
            "words_per_minute",
            "avg_pause_before_speaking_ms",
            "longest_monologue_ms",
            "switch_count",
            "questions",
        } <= set(kpis)
    for risk in result["risks"]:
        assert {"type", "severity", "confidence", "speaker", "start", "end", "quote", "segment_index"} <= set(
            risk
        )
        assert risk["type"] in RISK_LABELS and risk["severity"] in ("low", "medium", "high")
    for item in result["action_items"]:
        assert {"text", "owner", "due", "start", "segment_index"} <= set(item)
    assert isinstance(result["summary"], str)


@pytest.mark.models
def test_process_writes_the_contract_json(tmp_path: Path) -> None:
    audio = tmp_path / "northwind.flac"
    samples, rate = sf.read(ENGLISH, dtype="float32")
    sf.write(audio, samples[: 45 * rate], rate, subtype="PCM_16")
    out = tmp_path / "result.json"
    done = dealtalk(
        "process",
        str(audio),
        "--language",
        "en",
        "--speakers",
        "3",
        "--json",
        str(out),
        cwd=tmp_path,
        DEALTALK_SPEECH__ASR_MODEL="whisper-tiny.en",
        DEALTALK_SPEECH__LANGUAGES='["en"]',
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert_call_result_contract(result)
    assert result["language"] == "en" and 44 <= result["duration_s"] <= 46
    assert len(result["speakers"]) == 3 and result["segments"]
    # How well the evidence was heard travels with it: Whisper's scores per segment, the segment's score on
    # each insight, each speaker's transcript quality (contracts/evidence.py).
    segments = result["segments"]
    assert all(0.0 <= s["quality"]["score"] <= 1.0 for s in segments)
    for insight in (*result["risks"], *result["action_items"]):
        assert insight["evidence_quality"] == pytest.approx(
            segments[insight["segment_index"]]["quality"]["score"], abs=1e-3
        )
    assert all(0.0 <= k["transcript_quality"] <= 1.0 for k in result["kpis"]["per_speaker"].values())


@pytest.mark.models
def test_analyze_takes_the_segments_shape(tmp_path: Path) -> None:
    transcript = tmp_path / "t.json"
    transcript.write_text(
        json.dumps(
            {
                "language": "nl",
                "segments": [
                    {
                        "speaker": "S1",
                        "role": "seller",
                        "start": 0.0,
                        "end": 4.0,
                        "text": "Goedemorgen, hoe staat het ervoor?",
                    },
                    {
                        "speaker": "S2",
                        "role": "customer",
                        "start": 4.5,
                        "end": 9.0,
                        "text": "Eerlijk gezegd is jullie prijs per vierkante meter veel te hoog.",
                    },
                    {
                        "speaker": "S1",
                        "role": "seller",
                        "start": 9.5,
                        "end": 13.0,
                        "text": "Ik stuur je vrijdag een nieuwe offerte.",
                    },
                ],
            }
        )
    )
    done = dealtalk(
        "analyze",
        str(transcript),
        "--json",
        str(tmp_path / "out.json"),
        "--call-date",
        "2026-11-16",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["call_id"] == "t"
    assert [r["type"] for r in result["risks"]] == ["price_objection"]
    assert result["risks"][0]["speaker"] == "S2" and result["risks"][0]["segment_index"] == 1
    assert result["action_items"] and result["action_items"][0]["owner"] == "S1"


def test_exit_codes(tmp_path: Path) -> None:
    missing = dealtalk("analyze", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    (tmp_path / "bad.json").write_text('{"segments": [{"speaker": "S1", "start": 3, "end": 1, "text": "x"}]}')
    bad = dealtalk("analyze", str(tmp_path / "bad.json"), cwd=tmp_path)
    assert bad.returncode == 1 and "segments.0" in bad.stderr and "Traceback" not in bad.stderr
    usage = dealtalk("process", "a.flac", "b.flac", "--json", "x.json", cwd=tmp_path)
    assert usage.returncode == 2 and "--json takes exactly one input" in usage.stderr
    unknown = dealtalk("frobnicate", cwd=tmp_path)
    assert unknown.returncode == 2
    bad_config = dealtalk("calls", cwd=tmp_path, DEALTALK_BUS__KIND="carrier-pigeon")
    assert bad_config.returncode == 2 and "DEALTALK_BUS__KIND" in bad_config.stderr
