"""A site that allows Dutch is warned at start-up when its ASR model is below Whisper small or English-only."""

from __future__ import annotations

from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.models.whisper import SMALL_MIN_BYTES, WHISPER_BASE_SIZE, below_small, dutch_model_warning


def _model(folder: Path, size: int) -> Path:
    folder.mkdir()
    with (folder / "model.bin").open("wb") as handle:
        handle.truncate(size)  # sparse: only the size matters
    return folder


def test_sizes_below_small_are_recognised_by_their_weights(tmp_path: Path) -> None:
    assert below_small(_model(tmp_path / "base", WHISPER_BASE_SIZE))
    assert not below_small(_model(tmp_path / "small-int8", 245_000_000))
    assert not below_small(_model(tmp_path / "large-v3", 3_087_000_000))
    assert not below_small(tmp_path / "missing")
    assert WHISPER_BASE_SIZE < SMALL_MIN_BYTES


def test_the_bundled_base_model_warns_when_dutch_is_allowed(tmp_path: Path) -> None:
    folder = Settings.load().model_cache_dir / "whisper-base"
    if not (folder / "model.bin").is_file():  # assembled by any earlier resolve; build a same-sized stand-in
        folder = _model(tmp_path / "whisper-base", WHISPER_BASE_SIZE)
    warning = dutch_model_warning("whisper-base", folder, multilingual=True, languages=("nl", "en"))
    assert (
        warning is not None
        and "smaller than Whisper small" in warning
        and "DEALTALK_SPEECH__ASR_MODEL" in warning
    )
    assert dutch_model_warning("whisper-base", folder, multilingual=True, languages=("en",)) is None


def test_large_models_do_not_warn_and_english_only_models_always_do(tmp_path: Path) -> None:
    large = _model(tmp_path / "large", 1_600_000_000)
    assert dutch_model_warning("large-v3-turbo", large, multilingual=True, languages=("nl", "en")) is None
    warning = dutch_model_warning("whisper-tiny.en", large, multilingual=False, languages=("nl", "en"))
    assert warning is not None and "English-only" in warning
