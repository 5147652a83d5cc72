"""The call's language on real model output: forced languages hold, the audio decides among the allowed ones.

Clips of the bundled sample calls: the Dutch call's first two turns (19 s) and its last two (13 s), the English
call's first 25 s, and a mixed clip (a Dutch turn, a pause, an English turn of the mixed call).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dealtalk.contracts.documents import TranscriptDoc
from dealtalk.samples import CALLS_DIR
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.language import TextLanguageId
from dealtalk.transcription.protocols import CallContext

pytestmark = pytest.mark.models

NL_CALL = CALLS_DIR / "call-nl-zuidhaven.flac"
EN_CALL = CALLS_DIR / "call-en-northwind.flac"
MIXED_CALL = CALLS_DIR / "call-mixed-brightlab.flac"
DUTCH_HINTS = (("nl", "organizer.preferredLanguage"), ("nl", "attendee.preferredLanguage"))


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _reference_words(until_s: float) -> set[str]:
    ref = json.loads(NL_CALL.with_name("call-nl-zuidhaven.ref.json").read_text(encoding="utf-8"))
    return {w for turn in ref["turns"] if turn["end"] <= until_s for w in _tokens(turn["text"])}


def _text(doc: TranscriptDoc) -> str:
    return " ".join(segment.text for segment in doc.segments)


@pytest.fixture(scope="module")
def dutch_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import soundfile as sf

    samples, rate = sf.read(NL_CALL, dtype="float32", stop=19 * 16000)
    path = tmp_path_factory.mktemp("nl") / "zuidhaven-19s.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def dutch_forced(asr_engine: SpeechEngine, dutch_clip: Path) -> TranscriptDoc:
    return asr_engine.transcribe(
        dutch_clip, CallContext(call_id="nl-forced", language="nl", language_source="meeting.locale")
    )


def test_dutch_forced_to_dutch_gives_the_dutch_words(dutch_forced: TranscriptDoc) -> None:
    doc = dutch_forced
    heard = _tokens(_text(doc))
    reference = _reference_words(19.0)
    recall = len(set(heard) & reference) / len(reference)
    assert doc.language == "nl" and {s.language for s in doc.segments} == {"nl"}
    assert doc.language_evidence == "meeting.locale"
    # Whisper base on Dutch is weak (research: WER 48-68 %); measured recall here 0.43 (plain faster-whisper
    # forced to Dutch: 0.43 batched, 0.46 sequential).
    assert recall >= 0.3, (recall, heard)
    verdict = TextLanguageId(("nl", "en")).classify(_text(doc))
    assert verdict is not None and verdict[0] == "nl"


def test_without_a_hint_the_call_language_is_detected_as_dutch(
    asr_engine: SpeechEngine, dutch_clip: Path, dutch_forced: TranscriptDoc
) -> None:
    # Whisper's language head alone leans English on this generated Dutch (nl 0.55 vs en 0.45 over the
    # allowed pair); decoding with each language forced shows Dutch explains the audio better.
    doc = asr_engine.transcribe(dutch_clip, CallContext(call_id="nl-detected"))
    assert doc.language == "nl" and {s.language for s in doc.segments} == {"nl"}
    assert doc.language_evidence is not None and doc.language_evidence.startswith("audio")
    # Detected, the call is decoded exactly as when Dutch is forced: the same words.
    assert _text(doc) == _text(dutch_forced)
    assert len(set(_tokens(_text(doc))) & _reference_words(19.0)) / len(_reference_words(19.0)) >= 0.3


def test_english_audio_with_dutch_hints_stays_english(
    asr_engine: SpeechEngine, clip: Callable[..., Path]
) -> None:
    doc = asr_engine.transcribe(
        clip(EN_CALL, 0.0, 25.0), CallContext(call_id="en-hinted-nl", language_hints=DUTCH_HINTS)
    )
    assert doc.language == "en" and {s.language for s in doc.segments} == {"en"}
    evidence = doc.language_evidence or ""
    assert evidence.startswith("audio: en") and "organizer.preferredLanguage=nl" in evidence
    words = set(_tokens(_text(doc)))
    assert not words & set(_tokens(evidence)) - {"nl", "en"}, "evidence names no transcript words"
    verdict = TextLanguageId(("nl", "en")).classify(_text(doc))
    assert verdict is not None and verdict[0] == "en"


@pytest.fixture(scope="module")
def mixed_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Joost's Dutch turn (14.4-21.0 s), 2.5 s of silence, Sanne's English turn (21.7-27.2 s)."""
    import numpy as np
    import soundfile as sf

    samples, rate = sf.read(MIXED_CALL, dtype="float32", stop=28 * 16000)
    dutch = samples[int(14.2 * rate) : int(21.2 * rate)]
    english = samples[int(21.5 * rate) : int(27.4 * rate)]
    joined = np.concatenate([dutch, np.zeros(int(2.5 * rate), np.float32), english])
    path = tmp_path_factory.mktemp("mixed") / "brightlab-nl-en.wav"
    sf.write(path, joined, rate, subtype="PCM_16")
    return path


@pytest.mark.parametrize(
    "context",
    [
        CallContext(call_id="mixed-locale", language="nl", language_source="meeting.locale"),
        CallContext(call_id="mixed-auto"),
    ],
    ids=["forced-nl", "detected"],
)
def test_a_mixed_clip_keeps_both_languages(
    asr_engine: SpeechEngine, mixed_clip: Path, context: CallContext
) -> None:
    doc = asr_engine.transcribe(mixed_clip, context)
    assert doc.language == "nl"
    by_language = {s.language: _tokens(s.text) for s in doc.segments}
    assert set(by_language) == {"nl", "en"}, [(s.language, s.text) for s in doc.segments]
    assert {"van", "mij", "over"} <= set(by_language["nl"])
    assert {"congratulations", "both", "you", "cleaning", "contract"} <= set(by_language["en"])


def test_a_forced_dutch_chunk_that_whisper_scores_english_stays_dutch(
    asr_engine: SpeechEngine, clip: Callable[..., Path]
) -> None:
    # The Dutch call's last two turns: Whisper's language head gives English ~95 % of the nl/en mass; the
    # old switch rule (3:1) decoded them as English words ("That's how I can get out. Non-planning ...").
    doc = asr_engine.transcribe(clip(NL_CALL, 108.5, 121.5), CallContext(call_id="nl-tail", language="nl"))
    assert {s.language for s in doc.segments} == {"nl"}
    # Decoded with the Dutch token, not as English words. Which Dutch words whisper-base hears in this stretch
    # differs between CPUs (CTranslate2's int8 kernels): "... dan ... we ..." where this test was written, "Dat
    # hoek je aach. Non-plan en womer te weken ..." on an AMD EPYC host; so the check is on English words.
    english = {"that's", "that", "how", "i", "can", "get", "out", "the", "is", "you", "planning", "we're"}
    assert not english & set(_tokens(_text(doc))), _text(doc)


def test_forcing_english_on_dutch_audio_is_obeyed(asr_engine: SpeechEngine, dutch_clip: Path) -> None:
    doc = asr_engine.transcribe(dutch_clip, CallContext(call_id="nl-as-en", language="en"))
    assert doc.language == "en"
    # A chunk leaves the forced language only when its audio is clearly another one; generated Dutch never is.
    assert {s.language for s in doc.segments} == {"en"}


def test_the_clip_fixture_cuts_what_it_says(clip: Callable[..., Path]) -> None:
    import soundfile as sf

    path = clip(NL_CALL, 1.0, 3.5)
    assert sf.info(path).frames == int(2.5 * 16000)
