"""The Teams VTT transcript as input, end to end through the real transcribe stage and the real models.

The fixture ``tests/fixtures/teams/call-nl-zuidhaven.vtt`` is the Dutch sample call's reference script as Teams
writes a transcript (BOM, CRLF, cue ids, ``<v Name>`` voices).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from dealtalk.contracts.config import Settings, TenantSettings
from dealtalk.contracts.documents import TranscriptDoc
from dealtalk.contracts.events import AudioStored, TranscriptReady, new_trace_id
from dealtalk.ingest.sidecar import MeetingSidecar, meeting_from_sidecar
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.samples import CALLS_DIR
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.teams import ESTIMATED_TIMINGS
from dealtalk.transcription.vtt import parse_vtt

pytestmark = pytest.mark.models

CALL = CALLS_DIR / "call-nl-zuidhaven.flac"
VTT = Path(__file__).parents[2] / "fixtures" / "teams" / "call-nl-zuidhaven.vtt"


def _run(
    engine: SpeechEngine, settings: Settings, tmp_path: Path, audio: Path, vtt: bytes, source: str
) -> tuple[TranscriptReady, TranscriptDoc, str, str]:
    from dealtalk.pipeline.stages.transcribe import build_transcribe_stage

    blobs = LocalBlobStore(tmp_path / "blobs")
    sidecar = MeetingSidecar.model_validate_json(
        CALL.with_name("call-nl-zuidhaven.meeting.json").read_bytes()
    )
    tenant = TenantSettings()
    event = AudioStored(
        recording_id="rec-zuidhaven",
        trace_id=new_trace_id(),
        audio=blobs.put_file(audio, content_type="audio/flac"),
        meeting=meeting_from_sidecar(sidecar, tenant),
        teams_transcript=blobs.put_bytes(vtt, content_type="text/vtt"),
    )
    speech = settings.speech.model_copy(update={"transcript_source": source})
    stage = build_transcribe_stage(transcriber=engine, blobs=blobs, speech=speech, tenant=tenant)
    ready = stage.run(event)
    doc = TranscriptDoc.model_validate_json(blobs.read_bytes(ready.transcript))
    assert event.teams_transcript is not None
    return ready, doc, stage.version, event.teams_transcript.sha256


def test_teams_source_keeps_the_teams_words_and_names(
    engine: SpeechEngine, speech_settings: Settings, tmp_path: Path
) -> None:
    vtt = VTT.read_bytes()
    ready, doc, version, vtt_sha = _run(engine, speech_settings, tmp_path, CALL, vtt, "teams")
    cues = parse_vtt(vtt)
    assert [(s.name, s.email, s.role) for s in doc.speakers] == [
        ("Eva de Vries", "eva.devries@schoonenberg.nl", "seller"),
        ("Pieter van Dam", "p.vandam@zuidhaven.nl", "customer"),
    ]
    assert " ".join(s.text for s in doc.segments) == " ".join(c.text for c in cues)
    assert doc.language == "nl" and ready.language == "nl"
    assert doc.language_evidence == "meeting.locale"
    assert doc.duration_s == pytest.approx(121.9, abs=0.1)  # from the recording's header, not the last cue
    words = [w for s in doc.segments for w in s.words]
    assert words and all(w.estimated for w in words)
    assert ESTIMATED_TIMINGS in doc.warnings
    assert set(doc.models) == {"transcript"} and doc.models["transcript"].sha256 == vtt_sha
    assert ready.models == doc.models
    assert version.endswith(";source=teams")


def test_teams_retimed_moves_the_teams_words_to_what_the_asr_heard(
    engine: SpeechEngine, speech_settings: Settings, tmp_path: Path
) -> None:
    samples, rate = sf.read(CALL, dtype="float32", stop=31 * 16000)
    clip = tmp_path / "first-31s.wav"
    sf.write(clip, samples, rate, subtype="PCM_16")
    # The first four cues (they end at 30.2 s), as Teams would have written them for this clip.
    blocks = VTT.read_bytes().decode("utf-8-sig").split("\r\n\r\n")
    vtt = "\r\n\r\n".join(blocks[:5]).encode()
    cues = parse_vtt(vtt)
    assert len(cues) == 4
    _, doc, version, vtt_sha = _run(engine, speech_settings, tmp_path, clip, vtt, "teams_retimed")
    words = [w for s in doc.segments for w in s.words]
    retimed = [w for w in words if not w.estimated]
    assert [s.name for s in doc.speakers] == ["Eva de Vries", "Pieter van Dam"]
    assert " ".join(s.text for s in doc.segments) == " ".join(c.text for c in cues)
    # Whisper base hears Dutch poorly: 44 of 68 words matched when measured; the rest stay estimated.
    assert len(retimed) >= 0.5 * len(words)
    # Re-timed words still fall in (or next to) their own cue: the alignment did not jump across turns.
    own_cue = [cue for cue in cues for _ in cue.text.split()]
    assert [w.word for w in words] == [token for cue in cues for token in cue.text.split()]
    in_cue = sum(
        cue.start - 1.0 <= w.start <= cue.end + 1.0
        for w, cue in zip(words, own_cue, strict=True)
        if not w.estimated
    )
    assert in_cue >= 0.9 * len(retimed)
    assert {"asr", "vad", "transcript"} == set(doc.models) and doc.models["transcript"].sha256 == vtt_sha
    assert version.endswith(";source=teams_retimed")


def test_a_malformed_teams_transcript_falls_back_to_the_asr_with_a_warning(
    engine: SpeechEngine, speech_settings: Settings, tmp_path: Path
) -> None:
    samples, rate = sf.read(CALL, dtype="float32", stop=11 * 16000)
    clip = tmp_path / "first-11s.wav"
    sf.write(clip, samples, rate, subtype="PCM_16")
    broken = b"WEBVTT\n\n00:00:00.600 --> 00:00:10\n<v Eva de Vries>Goedemorgen</v>\n"
    _, doc, _, _ = _run(engine, speech_settings, tmp_path, clip, broken, "teams")
    assert "transcript" not in doc.models and "asr" in doc.models
    assert any("Teams transcript could not be used (line 3:" in w for w in doc.warnings), doc.warnings
    assert len([w for s in doc.segments for w in s.words]) >= 8
