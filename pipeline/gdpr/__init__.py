"""Privacy (GDPR): retention, erasure of a person, export for an access request, consent, and their audit.

``erase_person`` is the entry point an admin API route can call (with the app's ``Resources``).
"""

from dealtalk.pipeline.gdpr.erasure import ErasureReport, erase_person
from dealtalk.pipeline.gdpr.export import export_person
from dealtalk.pipeline.gdpr.retention import RetentionReport, run_retention

__all__ = ["ErasureReport", "RetentionReport", "erase_person", "export_person", "run_retention"]
