"""The device and precision plan: int8 on CPU, explicit threads, a clear refusal of CUDA without a GPU."""

from __future__ import annotations

import pytest

from dealtalk.contracts.config import SpeechSettings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.models.device import DevicePlan, gpu_batch_size, plan_device, usable_cpus


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def test_cpu_plan_defaults_to_int8_and_the_usable_cores() -> None:
    plan = plan_device(SpeechSettings(device="cpu"))
    assert plan == DevicePlan(device="cpu", compute_type="int8", cpu_threads=usable_cpus(), torch_threads=1)
    assert plan.torch_device == "cpu"


def test_explicit_precision_and_threads_are_kept() -> None:
    plan = plan_device(SpeechSettings(device="cpu", compute_type="float32", cpu_threads=3, torch_threads=2))
    assert (plan.compute_type, plan.cpu_threads, plan.torch_threads) == ("float32", 3, 2)


@pytest.mark.skipif(_has_cuda(), reason="this host has a GPU")
def test_auto_is_cpu_and_cuda_is_refused_without_a_gpu() -> None:
    assert plan_device(SpeechSettings(device="auto")).device == "cpu"
    with pytest.raises(ConfigurationError, match="DEALTALK_SPEECH__DEVICE=cuda but no CUDA device"):
        plan_device(SpeechSettings(device="cuda"))


def test_batch_size_is_a_throughput_knob_on_cpu() -> None:
    plan = DevicePlan(device="cpu", compute_type="int8", cpu_threads=2, torch_threads=1)
    assert gpu_batch_size(plan, per_item_bytes=1 << 30, ceiling=16) == 16
    assert DevicePlan("cuda", "float16", 2, 1, device_index=1).torch_device == "cuda:1"
