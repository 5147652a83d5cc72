"""Which language evidence reaches the transcriber: a forced setting, the meeting's locale, people's preferred
languages and the Teams transcript's text -- and that hints stay hints."""

from __future__ import annotations

from dealtalk.contracts.config import SpeechSettings, TenantSettings
from dealtalk.contracts.documents import LanguageHint, MeetingInfo
from dealtalk.pipeline.stages.transcribe import _with_transcript_hint, call_context

ORGANIZER_NL = LanguageHint(language="nl", source="organizer.preferredLanguage")
EN_VTT = b"""WEBVTT

00:00:00.000 --> 00:00:04.000
<v Mark Jansen>Good afternoon Sarah, thanks for making time to review the cleaning service levels.</v>

00:00:04.500 --> 00:00:09.000
<v Sarah Miller>Happy to. We have had a few complaints about the washrooms on the second floor.</v>
"""
MIXED_VTT = b"""WEBVTT

00:00:00.000 --> 00:00:03.000
<v Sanne>Goedemiddag allemaal, fijn dat jullie er zijn.</v>

00:00:03.500 --> 00:00:06.000
<v Tom>Thanks, we are happy to be here.</v>
"""


def _context(meeting: MeetingInfo, **speech: object):  # type: ignore[no-untyped-def]
    return call_context("rec", meeting, SpeechSettings(**speech), TenantSettings())


def test_graph_calls_have_no_forced_language_but_carry_the_hints() -> None:
    context = _context(MeetingInfo(language_hints=(ORGANIZER_NL,)))
    assert context.language is None and context.language_source is None
    assert context.language_hints == (("nl", "organizer.preferredLanguage"),)


def test_a_configured_language_or_a_meeting_locale_forces_and_says_why() -> None:
    assert _context(MeetingInfo(), language="en").language_source == "configured"
    located = _context(MeetingInfo(locale="nl-NL"))
    assert (located.language, located.language_source) == ("nl", "meeting.locale")
    # A locale outside the tenant's languages forces nothing: the audio decides among the allowed ones.
    assert _context(MeetingInfo(locale="de-DE")).language is None


def test_the_teams_transcript_adds_its_language_when_it_is_clear() -> None:
    meeting = MeetingInfo(language_hints=(ORGANIZER_NL,))
    hinted = _with_transcript_hint(meeting, EN_VTT, ("nl", "en"))
    assert hinted.language_hints == (ORGANIZER_NL, LanguageHint(language="en", source="teams.transcript"))


def test_a_mixed_or_broken_transcript_adds_no_hint() -> None:
    meeting = MeetingInfo()
    assert _with_transcript_hint(meeting, b"not a vtt file", ("nl", "en")) == meeting
    mixed = _with_transcript_hint(meeting, MIXED_VTT, ("nl", "en"))
    assert all(h.source == "teams.transcript" for h in mixed.language_hints)
    assert len(mixed.language_hints) <= 1
