"""The GDPR group of the settings model (``Settings.gdpr``), in its own module for size; import it from
``dealtalk.contracts.config`` like every other group."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["GdprSettings", "entra_object_id"]


def entra_object_id(value: str) -> str:
    """``value`` stripped, when empty or an Entra Object ID (a GUID); the group settings use it.

    Raises:
        ValueError: a group's display name or anything else that is not a GUID.
    """
    if value and not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value.strip()):
        raise ValueError("must be the group's Object ID (a GUID from the Entra admin center), not its name")
    return value.strip()


class GdprSettings(BaseModel):
    """``DEALTALK_GDPR__*``: how long what is kept, how a person is erased, and who opted out of analysis."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # like every group of the settings model

    # Audio is deleted this many days after the call (0 keeps it). Counted from the meeting's start, else
    # from when the recording was discovered.
    audio_retention_days: int = Field(default=30, ge=0)
    # Transcript text, words, quotes and names are removed this many days after the call (0 keeps them).
    transcript_retention_days: int = Field(default=365, ge=0)
    # After the transcript retention: keep the insights with names and quotes replaced (figures, labels and
    # KPIs stay, so trends still work); false deletes the insights together with the transcript.
    pseudonymise_insights: bool = True
    # Erasure of one person: "segments" silences their speech in the audio and removes their text, quotes,
    # name and address everywhere, keeping everyone else's insights; "whole" deletes every recording they
    # took part in, with its CRM activity.
    erase_whole_recordings: Literal["segments", "whole"] = "segments"
    # People who did not consent to analysis of their calls (e-mail addresses, compared case-insensitively).
    opted_out_emails: tuple[str, ...] = ()
    opted_out_group_id: str = Field(
        default="",
        description=(
            "Object id of a Microsoft Entra group of people who opted out: their calls are not analysed "
            "(read through Graph with GroupMember.Read.All and User.Read.All); empty: no group."
        ),
    )
    # A call with an opted-out attendee, or with recording disabled for a participant: "skip" fetches and
    # analyses nothing (the dead-letter entry and the recording's status "consent_withheld" say why);
    # "redact" analyses the call but removes those people's speech text, quotes, names and addresses from
    # the transcript right after transcription, as an erasure would. Either way the audit log records it.
    consent_policy: Literal["skip", "redact"] = "skip"
    # How often the worker runs the retention job, in seconds (0: never; `dealtalk gdpr retention` still).
    retention_interval_s: float = Field(default=6 * 3600.0, ge=0)
    # Minutes the resolved members of the opt-out group are reused before Graph is asked again.
    opted_out_group_ttl_min: float = Field(default=15.0, gt=0)

    @field_validator("opted_out_emails")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(v.strip().lower() for v in value if v.strip()))
        bad = [v for v in cleaned if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v)]
        if bad:
            raise ValueError(f"{len(bad)} entr{'y is' if len(bad) == 1 else 'ies are'} not an e-mail address")
        return cleaned

    @field_validator("opted_out_group_id")
    @classmethod
    def _group_is_an_object_id(cls, value: str) -> str:
        return entra_object_id(value)
