"""Language forcing and detection on the bundled Dutch sample call (first two turns, 19 s)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dealtalk.pipeline.commands.common import bundled_samples
from dealtalk.pipeline.documents import TranscriptDoc
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.language import TextLanguageId
from dealtalk.transcription.protocols import CallContext

pytestmark = pytest.mark.models

NL_CALL = bundled_samples() / "calls" / "call-nl-zuidhaven.flac"


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


def test_dutch_forced_to_dutch_gives_the_dutch_words(asr_engine: SpeechEngine, dutch_clip: Path) -> None:
    doc = asr_engine.transcribe(dutch_clip, CallContext(call_id="nl-forced", language="nl"))
    heard = _tokens(_text(doc))
    reference = _reference_words(19.0)
    recall = len(set(heard) & reference) / len(reference)
    assert doc.language == "nl" and {s.language for s in doc.segments} == {"nl"}
    # Whisper base on Dutch is weak (research: WER 48-68 %); measured recall here 0.43.
    assert recall >= 0.3, (recall, heard)
    verdict = TextLanguageId(("nl", "en")).classify(_text(doc))
    assert verdict is not None and verdict[0] == "nl"


@pytest.mark.xfail(
    strict=True,
    reason="known product gap: with no locale or configured language, Whisper base decodes this Dutch clip "
    "as English (translating it), so the text language-ID sees English too; the stage passes the meeting "
    "locale (nl-NL) and avoids it. Strict: this test fails once detection works, so the mark gets removed.",
)
def test_without_a_hint_the_call_language_is_detected_as_dutch(
    asr_engine: SpeechEngine, dutch_clip: Path
) -> None:
    doc = asr_engine.transcribe(dutch_clip, CallContext(call_id="nl-detected"))
    assert doc.language == "nl"
    assert len(set(_tokens(_text(doc))) & _reference_words(19.0)) / len(_reference_words(19.0)) >= 0.5


def test_forcing_english_on_dutch_audio_is_obeyed(asr_engine: SpeechEngine, dutch_clip: Path) -> None:
    doc = asr_engine.transcribe(dutch_clip, CallContext(call_id="nl-as-en", language="en"))
    assert doc.language == "en"
    # The chunk prior is strong, but a chunk may still switch when Whisper is 3x surer of Dutch.
    assert sum(s.language == "en" for s in doc.segments) >= 1


def test_the_clip_fixture_cuts_what_it_says(clip: Callable[..., Path]) -> None:
    import soundfile as sf

    path = clip(NL_CALL, 1.0, 3.5)
    assert sf.info(path).frames == int(2.5 * 16000)
