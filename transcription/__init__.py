"""Speech to a diarized, speaker-named transcript (faster-whisper + pyannote.audio)."""

from dealtalk.transcription.protocols import CallContext, CallTranscriber

__all__ = ["CallContext", "CallTranscriber"]
