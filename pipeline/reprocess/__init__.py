"""Batch reprocessing: stored calls run again with another model set, results versioned beside the old ones."""

from dealtalk.pipeline.reprocess.diff import CallDiff, RunTotals, diff_call, totals
from dealtalk.pipeline.reprocess.models import ModelSet
from dealtalk.pipeline.reprocess.runner import CallObserver, RunDeps, RunSummary, run_locally
from dealtalk.pipeline.reprocess.selection import CallSelection, select_calls

__all__ = [
    "CallDiff",
    "CallObserver",
    "CallSelection",
    "ModelSet",
    "RunDeps",
    "RunSummary",
    "RunTotals",
    "diff_call",
    "run_locally",
    "select_calls",
    "totals",
]
