"""Out of GPU memory halves the batch and tries again: ``with_smaller_batches`` against an injected failing call."""

from __future__ import annotations

import logging

import pytest

from dealtalk.contracts.errors import TransientError
from dealtalk.transcription.oom import is_out_of_memory, with_smaller_batches

# What CTranslate2 raises when a CUDA allocation fails (its message, verbatim).
CT2_OOM = "CUDA failed with error out of memory"


class FailsAbove:
    """A batch job that runs out of device memory above ``fits`` items and records every batch size tried."""

    def __init__(self, fits: int, error: type[BaseException] | None = None) -> None:
        self.fits = fits
        self.error = error
        self.tried: list[int] = []

    def __call__(self, batch_size: int) -> str:
        self.tried.append(batch_size)
        if batch_size > self.fits:
            if self.error is not None:
                raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
            raise RuntimeError(CT2_OOM)
        return f"done with {batch_size}"


def test_the_batch_is_halved_until_it_fits(caplog: pytest.LogCaptureFixture) -> None:
    job = FailsAbove(fits=3)
    with caplog.at_level(logging.WARNING, logger="dealtalk.transcription.oom"):
        assert with_smaller_batches(job, 16, what="ASR of rec-1") == "done with 2"
    assert job.tried == [16, 8, 4, 2]
    assert [r.getMessage() for r in caplog.records] == [
        f"ASR of rec-1: out of GPU memory, retrying with batch size {n}" for n in (8, 4, 2)
    ]


def test_a_batch_that_fits_runs_once() -> None:
    job = FailsAbove(fits=32)
    assert with_smaller_batches(job, 16, what="x") == "done with 16"
    assert job.tried == [16]


def test_odd_sizes_and_nonsense_sizes_still_reach_one() -> None:
    job = FailsAbove(fits=1)
    assert with_smaller_batches(job, 7, what="x") == "done with 1"
    assert job.tried == [7, 3, 1]
    zero = FailsAbove(fits=1)
    assert with_smaller_batches(zero, 0, what="x") == "done with 1"
    assert zero.tried == [1]


def test_out_of_memory_at_batch_size_one_is_a_transient_error() -> None:
    job = FailsAbove(fits=0)
    with pytest.raises(
        TransientError, match="diarization of rec-2: out of GPU memory even with batch size 1"
    ):
        with_smaller_batches(job, 4, what="diarization of rec-2")
    assert job.tried == [4, 2, 1]


def test_torch_and_python_memory_errors_count_as_out_of_memory() -> None:
    torch = pytest.importorskip("torch")
    job = FailsAbove(fits=2, error=torch.cuda.OutOfMemoryError)
    assert with_smaller_batches(job, 8, what="x") == "done with 2"
    assert job.tried == [8, 4, 2]
    memory = FailsAbove(fits=2, error=MemoryError)
    assert with_smaller_batches(memory, 4, what="x") == "done with 2"


def test_other_errors_are_not_retried() -> None:
    tried: list[int] = []

    def broken(batch_size: int) -> None:
        tried.append(batch_size)
        raise RuntimeError("CUDA failed with error invalid device ordinal")

    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        with_smaller_batches(broken, 8, what="x")
    assert tried == [8]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError(CT2_OOM), True),
        (RuntimeError("CUDA_ERROR_OUT_OF_MEMORY: out of memory"), True),
        (MemoryError(), True),
        (RuntimeError("shape mismatch"), False),
        (ValueError("out of memory"), False),
    ],
)
def test_what_counts_as_out_of_memory(error: BaseException, expected: bool) -> None:
    assert is_out_of_memory(error) is expected
