"""One place that turns settings into the publish stage's resolver and publisher.

Defaults are the embedded profile: the CRM fixture and the dry-run publisher. ``crm.backend = "dataverse"``
reads the CRM through the Dataverse Web API; ``publisher.mode = "dataverse"`` writes the activity there.
Heavy clients (MSAL, httpx) are imported only when a Dataverse backend is chosen.
"""

from __future__ import annotations

from dealtalk.contracts.config import Settings
from dealtalk.publisher.crm import CrmBackend, CrmReader
from dealtalk.publisher.dryrun import DryRunPublisher
from dealtalk.publisher.fixture import FixtureCrmReader
from dealtalk.publisher.protocols import ActivityPublisher, OpportunityResolver
from dealtalk.publisher.resolver import CrmOpportunityResolver
from dealtalk.publisher.schema import ActivitySchema

__all__ = ["load_crm_reader", "load_publisher", "load_resolver"]


def load_crm_reader(settings: Settings) -> CrmBackend:
    """The CRM rows for resolution, activity parties and competitors: the fixture file or Dataverse.

    Raises:
        ConfigurationError: the fixture is unreadable, or Dataverse settings are incomplete.
    """
    if settings.crm.backend == "dataverse":
        from dealtalk.publisher.dataverse.factory import dataverse_client
        from dealtalk.publisher.dataverse.reader import DataverseCrmReader

        return DataverseCrmReader(dataverse_client(settings))
    return FixtureCrmReader.from_path(settings.crm.fixture_path)


def load_resolver(settings: Settings, *, reader: CrmReader | None = None) -> OpportunityResolver:
    """The meeting -> opportunity resolver configured by ``settings.crm``.

    Args:
        settings: the application settings.
        reader: an already built CRM reader to share (e.g. with ``load_publisher``); None builds one.

    Raises:
        ConfigurationError: see ``load_crm_reader``.
    """
    return CrmOpportunityResolver(
        reader or load_crm_reader(settings), internal_domains=settings.tenant.internal_domains
    )


def load_publisher(settings: Settings, *, reader: CrmReader | None = None) -> ActivityPublisher:
    """The activity publisher configured by ``settings.publisher`` (dry-run unless ``mode = "dataverse"``).

    Args:
        settings: the application settings.
        reader: the CRM reader that matches participants to systemusers/contacts; None builds one.

    Raises:
        ConfigurationError: the table names are invalid, or Dataverse settings are incomplete.
    """
    schema = ActivitySchema.from_settings(settings.publisher)
    if settings.publisher.mode == "dataverse":
        from dealtalk.publisher.dataverse.factory import dataverse_client
        from dealtalk.publisher.dataverse.publisher import DataversePublisher
        from dealtalk.publisher.dataverse.reader import DataverseCrmReader

        client = dataverse_client(settings)
        # One client for both: the publisher's close() then releases the reader's connections too.
        if reader is None:
            reader = (
                DataverseCrmReader(client)
                if settings.crm.backend == "dataverse"
                else load_crm_reader(settings)
            )
        return DataversePublisher(
            client,
            schema=schema,
            parties_from=reader,
            fallback_phonecall=settings.publisher.fallback_phonecall,
            report_base_url=settings.publisher.report_base_url,
            batch_size=settings.dataverse.batch_size,
        )
    return DryRunPublisher(
        settings.outbox_dir,
        schema=schema,
        parties_from=reader or load_crm_reader(settings),
        org_url=settings.dataverse.url,
        api_version=settings.dataverse.api_version,
        fallback_phonecall=settings.publisher.fallback_phonecall,
        report_base_url=settings.publisher.report_base_url,
    )
