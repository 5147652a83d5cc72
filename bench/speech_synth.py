"""Generated calls with exact references, real-speech corpora from Debian packages, and non-speech signals.

Generated calls: each turn of a dialogue script is spoken by its speaker's espeak-ng voice, trimmed of espeak's
leading and trailing silence (so a reference turn starts and ends where the sound does), and placed on a
timeline with gaps, optional overlaps (a turn starting before the previous one ends), optional white noise at a
given SNR and an optional 8 kHz telephone band (300-3400 Hz). The texts are the dialogue scripts bundled with
dealtalk (``samples/scripts``), so nothing here is tuned to what the recogniser outputs.

Real speech: Fish Fillets NG's Dutch acted dialogue (two voices: the small fish ``-m-`` and the big fish
``-v-``, text in the game's ``dialogs_nl.lua``) and Asterisk's English 8 kHz prompts (one voice, text in
``core-sounds-en.txt``), concatenated into longer recordings with known turn times.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench.speech_metrics import Turn

__all__ = [
    "ASTERISK_DIR",
    "BENCH_PACKAGES",
    "FILLETS_DIR",
    "Call",
    "Line",
    "Voice",
    "asterisk_call",
    "fillets_call",
    "missing_packages",
    "non_speech",
    "render_call",
    "script_lines",
    "write_call",
]

SAMPLE_RATE = 16_000
ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "samples" / "scripts"
FILLETS_DIR = Path("/usr/share/games/fillets-ng")
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
BENCH_PACKAGES = (
    "fillets-ng-data-nl",
    "fillets-ng-data",
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-en",
)

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Voice:
    """An espeak-ng speaker: base voice per language, variant and prosody."""

    name: str
    voices: tuple[tuple[str, str], ...]  # (language, espeak voice)
    variant: str
    pitch: int
    speed: int

    def espeak(self, language: str) -> str:
        return f"{dict(self.voices).get(language, 'en-us')}+{self.variant}"


@dataclass(frozen=True, slots=True)
class Line:
    """One turn of a script: who says what in which language."""

    speaker: str
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Call:
    """A recording with its exact reference: speaker turns and the text of each turn."""

    name: str
    audio: Audio
    turns: tuple[Turn, ...]
    texts: tuple[str, ...]
    language: str  # "en", "nl" or "mixed"
    telephone: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    @property
    def speakers(self) -> int:
        return len({turn.speaker for turn in self.turns})


VOICES = (
    Voice("mark", (("en", "en-gb"), ("nl", "nl")), "m3", 40, 160),
    Voice("sarah", (("en", "en-us"), ("nl", "nl")), "f2", 70, 165),
    Voice("tom", (("en", "en-us"), ("nl", "nl")), "m7", 25, 150),
    Voice("eva", (("en", "en-gb"), ("nl", "nl")), "klatt4", 72, 150),
    Voice("pieter", (("en", "en-gb"), ("nl", "nl")), "klatt3", 35, 145),
    Voice("emma", (("en", "en-gb"), ("nl", "nl")), "f3", 62, 160),
    Voice("joost", (("en", "en-us"), ("nl", "nl")), "m1", 50, 155),
    Voice("lotte", (("en", "en-us"), ("nl", "nl")), "f4", 85, 170),
)


def script_lines(language: str) -> list[Line]:
    """The turns of the bundled dialogue scripts in ``language`` ("en", "nl" or "mixed"), in file order."""
    import json

    lines: list[Line] = []
    for path in sorted(SCRIPTS.glob("*.json")):
        script = json.loads(path.read_text(encoding="utf-8"))
        for speaker, lang, text in script["turns"]:
            if (language == "mixed" and "mixed" in path.stem) or (
                language != "mixed" and lang == language and "mixed" not in path.stem
            ):
                lines.append(Line(speaker, lang, text))
    return lines


def speak(text: str, voice: str, pitch: int, speed: int, workdir: Path) -> Audio:
    """One utterance as 16 kHz mono float32, espeak's leading and trailing silence trimmed."""
    raw, clean = workdir / "raw.wav", workdir / "clean.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(raw), text], check=True
    )
    trim = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]
    subprocess.run(
        ["sox", "-G", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(clean), *trim], check=True
    )
    audio, _ = sf.read(clean, dtype="float32")
    return np.asarray(audio, dtype=np.float32)


def _place(
    clips: Sequence[tuple[Audio, str]], gaps: Sequence[float], lead_s: float
) -> tuple[Audio, list[Turn]]:
    """Put clips on a timeline; a negative gap makes the clip start before the previous one ends."""
    starts: list[int] = []
    cursor = int(lead_s * SAMPLE_RATE)
    for (clip, _), gap in zip(clips, gaps, strict=True):
        start = max(0, cursor + int(gap * SAMPLE_RATE)) if starts else cursor
        starts.append(start)
        cursor = start + len(clip)
    total = max(s + len(c) for s, (c, _) in zip(starts, clips, strict=True)) + int(lead_s * SAMPLE_RATE)
    audio = np.zeros(total, dtype=np.float32)
    turns = []
    for start, (clip, speaker) in zip(starts, clips, strict=True):
        audio[start : start + len(clip)] += clip
        turns.append(Turn(start / SAMPLE_RATE, (start + len(clip)) / SAMPLE_RATE, speaker))
    return audio, turns


def render_call(
    name: str,
    lines: Sequence[Line],
    voices: Sequence[Voice],
    workdir: Path,
    *,
    seed: int = 0,
    overlap_every: int = 0,
    overlap_s: float = 0.8,
    snr_db: float | None = None,
    telephone: bool = False,
    language: str = "en",
) -> Call:
    """Speak ``lines`` with ``voices`` (script speakers are mapped onto voices in order of appearance).

    Args:
        overlap_every: every n-th turn starts ``overlap_s`` before the previous turn ends (0: never).
        snr_db: white noise at this signal-to-noise ratio over the speech (None: a -56 dBFS room floor).
        telephone: mark the call for writing as 8 kHz telephone-band audio (see ``write_call``).
    """
    rng = np.random.default_rng(seed)
    speakers: dict[str, Voice] = {}
    clips: list[tuple[Audio, str]] = []
    gaps: list[float] = []
    for i, line in enumerate(lines):
        voice = speakers.setdefault(line.speaker, voices[len(speakers) % len(voices)])
        clip = speak(line.text, voice.espeak(line.language), voice.pitch, voice.speed, workdir)
        clip *= 0.6 / max(float(np.abs(clip).max()), 1e-6)  # similar loudness for every speaker
        clips.append((clip, voice.name))
        overlapping = overlap_every and i % overlap_every == overlap_every - 1
        gaps.append(-overlap_s if overlapping else float(rng.uniform(0.35, 1.2)))
    audio, turns = _place(clips, gaps, lead_s=0.6)
    if snr_db is None:
        noise_rms = 0.0015
    else:
        speech = np.concatenate([clip for clip, _ in clips])
        noise_rms = float(np.sqrt(np.mean(speech**2))) / 10 ** (snr_db / 20)
    audio += rng.normal(0.0, noise_rms, size=audio.shape).astype(np.float32)
    np.clip(audio, -1.0, 1.0, out=audio)
    return Call(name, audio, tuple(turns), tuple(line.text for line in lines), language, telephone)


def write_call(call: Call, folder: Path) -> Path:
    """Write the call as 16 kHz FLAC, or as an 8 kHz telephone-band WAV (sox low/high-pass) when marked."""
    path = folder / f"{call.name}.flac"
    sf.write(path, call.audio, SAMPLE_RATE, subtype="PCM_16")
    if not call.telephone:
        return path
    phone = folder / f"{call.name}.8k.wav"
    subprocess.run(
        ["sox", "-G", str(path), "-r", "8000", "-b", "16", str(phone), "sinc", "300-3400"], check=True
    )
    path.unlink()
    return phone


def missing_packages() -> list[str]:
    """The real-speech Debian packages that are not installed (checked by their files)."""
    present = {
        "fillets-ng-data-nl": any(FILLETS_DIR.glob("sound/*/nl/*.ogg")),
        "fillets-ng-data": any(FILLETS_DIR.glob("script/*/dialogs_nl.lua")),
        "asterisk-core-sounds-en-wav": ASTERISK_DIR.is_dir() and any(ASTERISK_DIR.glob("*.wav")),
        "asterisk-core-sounds-en": ASTERISK_TEXT.is_file(),
    }
    return [name for name in BENCH_PACKAGES if not present[name]]


def _read_16k(path: Path, workdir: Path) -> Audio:
    out = workdir / "clip.wav"
    trim = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]
    subprocess.run(["sox", "-G", str(path), "-r", str(SAMPLE_RATE), "-c", "1", str(out), *trim], check=True)
    audio, _ = sf.read(out, dtype="float32")
    return np.asarray(audio, dtype=np.float32)


def _fillets_lines() -> Iterator[tuple[Path, str, str]]:
    pattern = re.compile(r'dialogId\("([^"]+)".*?\)\s*dialogStr\("((?:[^"\\]|\\.)*)"\)', re.S)
    for script in sorted(FILLETS_DIR.glob("script/*/dialogs_nl.lua")):
        level = script.parent.name
        for dialog_id, text in pattern.findall(script.read_text(encoding="utf-8", errors="replace")):
            parts = dialog_id.split("-")
            ogg = FILLETS_DIR / "sound" / level / "nl" / f"{dialog_id}.ogg"
            if len(parts) >= 3 and parts[1] in ("m", "v") and ogg.is_file() and text.strip():
                yield ogg, parts[1], text.replace('\\"', '"')


def fillets_call(name: str, max_s: float, workdir: Path, *, seed: int = 0) -> Call:
    """Real Dutch two-voice dialogue: lines of the small (m) and big (v) fish, alternating, about ``max_s`` long."""
    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list[tuple[Path, str]]] = {"m": [], "v": []}
    for ogg, speaker, text in _fillets_lines():
        by_speaker[speaker].append((ogg, text))
    clips: list[tuple[Audio, str]] = []
    texts: list[str] = []
    total = 0.0
    for i in range(min(len(by_speaker["m"]), len(by_speaker["v"]))):
        for speaker in ("m", "v"):
            ogg, text = by_speaker[speaker][i]
            clip = _read_16k(ogg, workdir)
            if len(clip) < SAMPLE_RATE // 2:
                continue
            clips.append((clip, speaker))
            texts.append(text)
            total += len(clip) / SAMPLE_RATE + 0.8
        if total >= max_s:
            break
    gaps = [float(rng.uniform(0.35, 1.2)) for _ in clips]
    audio, turns = _place(clips, gaps, lead_s=0.5)
    return Call(name, audio, tuple(turns), tuple(texts), "nl")


def asterisk_call(name: str, max_s: float, workdir: Path, *, seed: int = 0) -> Call:
    """Real English 8 kHz telephone prompts (one voice) concatenated, about ``max_s`` long."""
    rng = np.random.default_rng(seed)
    clips: list[tuple[Audio, str]] = []
    texts: list[str] = []
    total = 0.0
    for row in gzip.decompress(ASTERISK_TEXT.read_bytes()).decode("utf-8", "replace").splitlines():
        key, sep, text = row.partition(":")
        wav = ASTERISK_DIR / f"{key.strip()}.wav"
        text = text.strip()
        # Bracketed entries describe tones, not words; very short prompts say little about WER.
        if not sep or "[" in text or len(text.split()) < 4 or not wav.is_file():
            continue
        clips.append((_read_16k(wav, workdir), "allison"))
        texts.append(text)
        total += len(clips[-1][0]) / SAMPLE_RATE + 0.8
        if total >= max_s:
            break
    gaps = [float(rng.uniform(0.5, 1.2)) for _ in clips]
    audio, turns = _place(clips, gaps, lead_s=0.5)
    return Call(name, audio, tuple(turns), tuple(texts), "en", telephone=True)


def non_speech(kind: str, seconds: float, folder: Path) -> Path:
    """A recording without speech: silence, white/pink noise, music (synth chords) or a hold tone (sox)."""
    path = folder / f"{kind}.flac"
    synth: dict[str, list[str]] = {
        "silence": ["synth", str(seconds), "sine", "0", "vol", "0"],
        "white-noise": ["synth", str(seconds), "whitenoise", "vol", "0.1"],
        "pink-noise": ["synth", str(seconds), "pinknoise", "vol", "0.2"],
        # A slow chord progression: C, Am, F, G major triads (plucked), four seconds each, repeated.
        "music": [],
        # European ringback-style hold tone: 425 Hz, 1 s on, 4 s off.
        "hold-tone": [
            "synth",
            "1",
            "sine",
            "425",
            "vol",
            "0.3",
            "pad",
            "0",
            "4",
            "repeat",
            str(int(seconds // 5) - 1),
        ],
    }
    if kind == "music":
        chords = [("C4", "E4", "G4"), ("A3", "C4", "E4"), ("F3", "A3", "C4"), ("G3", "B3", "D4")]
        parts = []
        for i in range(int(seconds // 4)):
            notes = chords[i % len(chords)]
            part = folder / f"chord{i}.wav"
            args = [arg for note in notes for arg in ("pluck", note)]
            subprocess.run(
                [
                    "sox",
                    "-n",
                    "-r",
                    str(SAMPLE_RATE),
                    "-c",
                    "1",
                    str(part),
                    "synth",
                    "4",
                    *args,
                    "vol",
                    "0.3",
                ],
                check=True,
            )
            parts.append(str(part))
        subprocess.run(["sox", *parts, str(path)], check=True)
        return path
    subprocess.run(
        ["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path), *synth[kind]], check=True
    )
    return path


def have_tools() -> list[str]:
    """Command-line tools the generators need that are missing from PATH."""
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
