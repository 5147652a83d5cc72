"""WebVTT as Microsoft Teams writes its meeting transcripts: cues with the speaker as a voice span.

Teams' transcript (Graph ``/transcripts/{id}/content?$format=text/vtt``) looks like::

    WEBVTT

    0f3c1a2b-.../12-0
    00:00:00.600 --> 00:00:10.379
    <v Eva de Vries>Goedemorgen Pieter, fijn dat je tijd hebt.</v>

The parser follows the WebVTT syntax where Teams and other writers use it: an optional byte-order mark, CRLF
or CR line ends, a ``WEBVTT`` header (text after it and header lines are ignored), ``NOTE``, ``STYLE`` and
``REGION`` blocks, cue identifiers, hour-less timestamps (``mm:ss.ttt``), cue settings after the end time,
payloads over several lines, several voice spans in one cue, other markup (``<c>``, ``<i>``, ``<lang>``,
timestamp tags) and character references (``&amp;``). Anything it cannot read is refused with the line
number and what was expected, never skipped silently.

Usage::

    cues = parse_vtt(blobs.read_bytes(event.teams_transcript))
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from dealtalk.contracts.errors import InvalidInput

__all__ = ["VttCue", "VttError", "format_timestamp", "parse_timestamp", "parse_vtt"]


class VttError(InvalidInput):
    """The WebVTT text is malformed; the message names the line and what a valid file has there."""


@dataclass(frozen=True, slots=True)
class VttCue:
    """One cue (or one voice span of a cue): who spoke from ``start`` to ``end`` seconds, and the text.

    ``speaker`` is the voice annotation (``<v Eva de Vries>``), or None when the cue names nobody.
    """

    start: float
    end: float
    text: str
    speaker: str | None = None
    identifier: str | None = None


# hh:mm:ss.ttt (hours: 2 or more digits) or mm:ss.ttt
_TIMESTAMP = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")
_VOICE_OPEN = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>")
_VOICE_CLOSE = re.compile(r"</v\s*>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")


def parse_timestamp(text: str) -> float:
    """``01:02:03.456`` or ``02:03.456`` -> seconds.

    Raises:
        ValueError: not a WebVTT timestamp.
    """
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a WebVTT timestamp (hh:mm:ss.ttt or mm:ss.ttt)")
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def format_timestamp(seconds: float, *, hours: bool = True) -> str:
    """Seconds -> ``hh:mm:ss.ttt`` (or ``mm:ss.ttt`` with ``hours=False`` below one hour)."""
    total_ms = round(seconds * 1000)
    hh, rest = divmod(total_ms, 3_600_000)
    mm, rest = divmod(rest, 60_000)
    ss, ms = divmod(rest, 1000)
    if hours or hh:
        return f"{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}"
    return f"{mm:02d}:{ss:02d}.{ms:03d}"


def _clean(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def _voice_spans(payload: str) -> list[tuple[str | None, str]]:
    """(speaker, text) spans of a cue payload; text outside any voice span has no speaker."""
    spans: list[tuple[str | None, str]] = []
    position = 0
    speaker: str | None = None
    for match in _VOICE_OPEN.finditer(payload):
        before = _VOICE_CLOSE.split(payload[position : match.start()])
        spans.append((speaker, before[0]))
        spans += [(None, rest) for rest in before[1:]]
        name = _clean(match.group(1) or "")
        speaker = name or None
        position = match.end()
    after = _VOICE_CLOSE.split(payload[position:])
    spans.append((speaker, after[0]))
    spans += [(None, rest) for rest in after[1:]]
    return [(who, cleaned) for who, text in spans if (cleaned := _clean(text))]


def _split_cue(start: float, end: float, payload: str, identifier: str | None) -> list[VttCue]:
    spans = _voice_spans(payload)
    if len(spans) <= 1:
        speaker, text = spans[0] if spans else (None, "")
        return [VttCue(start, end, text, speaker, identifier)] if text else []
    # Several voices in one cue: share its time by text length (the file says no more than that).
    total = sum(len(text) for _, text in spans)
    cues: list[VttCue] = []
    at = start
    for i, (speaker, text) in enumerate(spans):
        until = end if i == len(spans) - 1 else at + (end - start) * len(text) / total
        cues.append(VttCue(at, until, text, speaker, identifier))
        at = until
    return cues


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blocks separated by blank lines, each with the 1-based number of its first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


# Only what looks like a timing is quoted in an error: a line of spoken text is personal data, and these
# messages reach logs and the dead-letter reason.
_TIMING_LIKE = re.compile(r"[0-9:.,\->\s]*")


def _shown(line: str) -> str:
    line = line.strip()
    if _TIMING_LIKE.fullmatch(line):
        return repr(line[:60])
    return f"a text line ({len(line)} characters)"


def parse_vtt(data: str | bytes) -> tuple[VttCue, ...]:
    """Parse a WebVTT transcript into cues in file order, one per voice span.

    Args:
        data: the file's bytes (UTF-8, optional BOM) or text.

    Returns:
        The cues with text (markup removed, character references decoded); cues with no text are left out.

    Raises:
        VttError: not UTF-8, no ``WEBVTT`` header, a cue without a valid timing line, a bad timestamp, or a
            cue that ends before it starts (the message names the line).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VttError(
                f"the Teams transcript is not UTF-8 text (byte {exc.start}); expected WebVTT"
            ) from exc
    text = data.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    lines = text.split("\n")
    header = lines[0] if lines else ""
    if not (header == "WEBVTT" or header.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise VttError(f"line 1: a WebVTT file starts with 'WEBVTT', found {_shown(header)}")
    blocks = _blocks(lines)
    header_block = blocks[0][1] if blocks and blocks[0][0] == 1 else []
    for offset, line in enumerate(header_block):
        if "-->" in line:
            raise VttError(
                f"line {offset + 1}: a blank line must separate the WEBVTT header from the first cue"
            )
    cues: list[VttCue] = []
    for first, block in blocks[1:] if header_block else blocks:
        keyword = block[0].split(None, 1)[0] if block[0].split() else ""
        if keyword in ("NOTE", "STYLE", "REGION") and "-->" not in block[0]:
            continue
        identifier: str | None = None
        timing_at = 0
        if "-->" not in block[0]:
            identifier, timing_at = block[0].strip(), 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            found = _shown(block[timing_at]) if timing_at < len(block) else "the end of the block"
            after = f" after the cue identifier {_shown(identifier)} (line {first})" if identifier else ""
            raise VttError(
                f"line {first + timing_at}: expected a cue timing 'start --> end' "
                f"(e.g. 00:00:01.000 --> 00:00:04.000){after}, found {found}"
            )
        line_number = first + timing_at
        match = _TIMING.match(block[timing_at].strip())
        if match is None:
            raise VttError(f"line {line_number}: malformed cue timing {_shown(block[timing_at])}")
        try:
            start, end = parse_timestamp(match.group(1)), parse_timestamp(match.group(2))
        except ValueError as exc:
            raise VttError(f"line {line_number}: {exc}") from exc
        if end < start:
            raise VttError(f"line {line_number}: the cue ends ({end:.3f} s) before it starts ({start:.3f} s)")
        cues += _split_cue(start, end, "\n".join(block[timing_at + 1 :]), identifier)
    return tuple(cues)
