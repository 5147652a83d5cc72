"""Seed the Graph emulator with the bundled sample calls: sellers, their Teams meetings, recordings, transcripts.

Each ``<call>.meeting.json`` sidecar becomes an online meeting (its ``online_meeting_id`` and ``join_url``), its
audio file the recording content, and its ``.ref.json`` script a Teams-style WebVTT transcript
(``<v Speaker>text</v>`` cues), so the product finds what it would find in a real tenant.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile

from .state import Meeting, Recording, Tenant

__all__ = ["SELLERS", "lookback_days_for", "seed_samples", "vtt_from_script"]

SELLERS = {
    "eva.devries@schoonenberg.nl": "Eva de Vries",
    "mark.jansen@schoonenberg.nl": "Mark Jansen",
    "sanne.bakker@schoonenberg.nl": "Sanne Bakker",
}


def _clock(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}"


def vtt_from_script(turns: list[dict[str, object]]) -> str:
    cues = ["WEBVTT", ""]
    for turn in turns:
        start, end = float(str(turn["start"])), float(str(turn["end"]))
        cues += [f"{_clock(start)} --> {_clock(end)}", f"<v {turn['name']}>{turn['text']}</v>", ""]
    return "\n".join(cues)


def seed_samples(tenant: Tenant, calls_dir: Path, *, copies: int = 1) -> list[Recording]:
    """Add the sellers and one meeting + recording (+ transcript) per sample call; returns the recordings.

    ``copies`` > 1 adds each call that many times as separate meetings ("-copy2", ... on the ids, the join URL
    and the recording), for load benchmarks; the first copy keeps the sample's own ids. A copy's audio ends in
    a few milliseconds more silence: the product refuses a recording whose audio it has already ingested.
    """
    recordings: list[Recording] = []
    for copy in range(1, copies + 1):
        recordings += _seed_once(tenant, calls_dir, "" if copy == 1 else f"-copy{copy}")
    return recordings


def _distinct(audio: Path, suffix: str) -> bytes:
    """The audio file's bytes; for a copy, the same sound with ``copy`` x 10 ms of silence appended."""
    if not suffix:
        return audio.read_bytes()
    samples, rate = soundfile.read(audio, dtype="float32", always_2d=True)
    pad = np.zeros((int(rate * 0.01 * int(suffix.removeprefix("-copy"))), samples.shape[1]), np.float32)
    out = io.BytesIO()
    soundfile.write(out, np.concatenate([samples, pad]), rate, format=soundfile.info(str(audio)).format)
    return out.getvalue()


def _seed_once(tenant: Tenant, calls_dir: Path, suffix: str) -> list[Recording]:
    for upn, name in SELLERS.items():
        if tenant.user(upn) is None:
            # A Dutch company: every seller's Teams and Outlook are set to Dutch, whatever the call's language.
            tenant.add_user(upn, name, preferred_language="nl-NL")
    recordings = []
    for sidecar_path in sorted(calls_dir.glob("*.meeting.json")):
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        stem = sidecar_path.name.removesuffix(".meeting.json")
        audio = next(
            p for p in calls_dir.iterdir() if p.stem == stem and p.suffix in (".flac", ".wav", ".mp4")
        )
        organizer = tenant.user(sidecar["organizer"]["email"])
        assert organizer is not None, f"{stem}: organizer is not a seeded seller"
        start = datetime.fromisoformat(sidecar["start_time"])
        duration = float(sidecar["duration_s"])
        meeting = tenant.add_meeting(
            Meeting(
                id=sidecar["online_meeting_id"] + suffix,
                organizer_id=organizer.id,
                subject=sidecar["subject"],
                start=start,
                end=start + timedelta(seconds=duration),
                join_url=sidecar["join_url"] + (f"?copy={suffix[5:]}" if suffix else ""),
                attendees=[(a["email"], a["name"]) for a in sidecar["attendees"]],
            )
        )
        script = calls_dir / f"{stem}.ref.json"
        vtt = (
            vtt_from_script(json.loads(script.read_text(encoding="utf-8"))["turns"])
            if script.exists()
            else None
        )
        recordings.append(
            tenant.add_recording(
                meeting,
                _distinct(audio, suffix),
                duration_s=duration,
                recording_id=sidecar["recording_id"] + suffix,
                transcript_vtt=vtt,
            )
        )
    return recordings


def lookback_days_for(tenant: Tenant, *, at_least: int = 14) -> int:
    """Days a first delta sync must look back to find every recording in ``tenant``.

    The sample calls carry fixed dates, so a fixed lookback stops finding them once they are older than it.
    """
    if not tenant.recordings:
        return at_least
    oldest = min(r.created for r in tenant.recordings)
    return max(at_least, (datetime.now(UTC) - oldest).days + 2)
