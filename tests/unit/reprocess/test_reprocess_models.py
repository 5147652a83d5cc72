"""The model set a run chooses, and the CUDA path on a host without a GPU (this one): device, precision and
batch-size options reach the speech settings, ``cuda`` fails fast with a clear message, and an out-of-memory
error halves the batch instead of crashing. The GPU itself is not exercised here.
"""

from __future__ import annotations

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError, InvalidInput, TransientError
from dealtalk.models.device import DevicePlan, gpu_batch_size, plan_device
from dealtalk.pipeline.reprocess.models import ModelSet, resolve_asr_spec
from dealtalk.transcription.oom import with_smaller_batches


def test_short_names_map_to_registry_specs_and_folders_pass_through() -> None:
    assert resolve_asr_spec("tiny.en") == "whisper-tiny.en"
    assert resolve_asr_spec("base") == "whisper-base"
    assert resolve_asr_spec("/models/large-v3") == "/models/large-v3"
    with pytest.raises(InvalidInput, match="empty"):
        resolve_asr_spec("  ")


def test_the_model_set_becomes_a_copy_of_the_speech_settings() -> None:
    settings = Settings.load()
    chosen = ModelSet.from_options(
        "/opt/ct2/large-v3", device="cuda", compute_type="int8_float16", batch_size=24
    )
    run = chosen.apply(settings)
    assert (run.speech.asr_model, run.speech.device, run.speech.compute_type, run.speech.batch_size) == (
        "/opt/ct2/large-v3",
        "cuda",
        "int8_float16",
        24,
    )
    assert settings.speech.asr_model == "whisper-base"  # the original is untouched
    kept = ModelSet.from_options("tiny.en").apply(
        settings.model_copy(update={"speech": settings.speech.model_copy(update={"device": "cpu"})})
    )
    assert kept.speech.device == "cpu"  # no --device: the configured device stays
    assert (kept.speech.compute_type, kept.speech.batch_size) == (
        settings.speech.compute_type,
        settings.speech.batch_size,
    )
    assert ModelSet.from_dict(chosen.as_dict()) == chosen  # stored with the run, read back on resume


@pytest.mark.parametrize(("device", "batch"), [("gpu", None), ("cuda", 0)])
def test_bad_device_or_batch_size_is_a_usage_error(device: str, batch: int | None) -> None:
    with pytest.raises(InvalidInput):
        ModelSet.from_options("base", device=device, batch_size=batch)


def test_cuda_on_a_host_without_a_gpu_fails_fast_with_what_to_do() -> None:
    speech = ModelSet.from_options("base", device="cuda").apply(Settings.load()).speech
    with pytest.raises(ConfigurationError, match="no CUDA device"):
        plan_device(speech)


def test_float16_is_the_default_precision_on_cuda_and_int8_on_cpu() -> None:
    cpu = plan_device(ModelSet.from_options("base", device="cpu").apply(Settings.load()).speech)
    assert (cpu.device, cpu.compute_type) == ("cpu", "int8")


def test_out_of_memory_halves_the_batch_until_it_fits() -> None:
    tried: list[int] = []

    def decode(batch_size: int) -> str:
        tried.append(batch_size)
        if batch_size > 4:
            raise RuntimeError("CUDA failed with error out of memory")
        return f"decoded with {batch_size}"

    assert with_smaller_batches(decode, 32, what="ASR") == "decoded with 4"
    assert tried == [32, 16, 8, 4]


def test_out_of_memory_at_batch_size_one_is_a_retriable_error_not_a_crash() -> None:
    def never_fits(batch_size: int) -> str:
        raise RuntimeError("CUDA out of memory")

    with pytest.raises(TransientError, match="batch size 1") as caught:
        with_smaller_batches(never_fits, 8, what="ASR")
    assert caught.value.retriable


def test_other_errors_are_not_mistaken_for_out_of_memory() -> None:
    def broken(batch_size: int) -> str:
        raise RuntimeError("cuDNN version mismatch")

    with pytest.raises(RuntimeError, match="cuDNN"):
        with_smaller_batches(broken, 8, what="ASR")


def test_the_batch_size_is_a_ceiling_on_cpu() -> None:
    plan = DevicePlan(device="cpu", compute_type="int8", cpu_threads=2, torch_threads=1)
    assert gpu_batch_size(plan, per_item_bytes=1 << 30, ceiling=24) == 24
