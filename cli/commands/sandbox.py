"""``dealtalk demo --sandbox``: the sample calls through emulated Teams (Graph) -> pipeline -> emulated Dataverse.

On the embedded bus it is one process: a delta sync discovers the recordings, an in-process worker runs the
stages. On Kafka (``DEALTALK_BUS__KIND=kafka`` with a bootstrap address and a PostgreSQL URL) it runs the
deployed topology instead: two API replicas behind a balancer (webhook on both, discovery on the lease holder),
one worker process per stage; the emulated tenant adds the recordings after the subscriptions exist, so Graph's
change notifications to the webhook are what discovers them. Either way a second run creates no second activity.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import delete, select

from dealtalk.cli.commands.common import console
from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError, TransientError
from dealtalk.emulators.launcher import Sandbox, start_sandbox
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.coordination import GraphStateRow
from dealtalk.pipeline.store.schema import PublicationRow

__all__ = ["RunCalls", "forget_previous_tenant", "run_sandbox", "topology_settings"]

# How the embedded sandbox runs the stages on what discovery queued: (resources, number of new calls).
RunCalls = Callable[[Resources, int], None]


def run_sandbox(settings: Settings, dump: Path | None, *, run_calls: RunCalls) -> None:
    """Run the sandbox on the configured bus and print recording -> opportunity -> activity."""
    base = settings.model_copy(update={"data_dir": settings.data_dir / "sandbox"})
    kafka = base.runs_distributed
    if kafka and not (base.database.url or "").startswith("postgresql"):
        raise ConfigurationError(
            "the sandbox on Kafka runs several processes on one shared store: set DEALTALK_DATABASE__URL to a "
            "PostgreSQL URL"
        )
    with start_sandbox(base.data_dir / "emulators", withhold=kafka) as box:
        settings = box.settings(base)
        _provision(settings)
        if kafka:
            _run_topology(box, settings)
        else:
            _run_embedded(box, settings, run_calls)
        rows = box.dataverse_rows().get(settings.publisher.activity_entity_set, [])
        console.print(
            f"Dataverse: {len(rows)} call-insights activit{'y' if len(rows) == 1 else 'ies'} in total"
        )
        if dump is not None:
            console.print(f"wrote {box.dump(dump)} emulated Dataverse rows to {dump}")


def _provision(settings: Settings) -> None:
    from dealtalk.pipeline.models_and_clients import ModelsAndClients

    with ModelsAndClients(settings) as models:
        steps = models.provision_activity_table(poll_s=0.2)
    created = sum(step.outcome == "created" for step in steps)
    console.print(f"[bold]sandbox[/bold]: Dataverse table {'provisioned' if created else 'already there'}")


def _run_embedded(box: Sandbox, settings: Settings, run_calls: RunCalls) -> None:
    resources = Resources.open(settings)
    try:
        report = resources.graph_ingest().discovery.run_delta_sync()
        console.print(
            f"Graph: {len(report.emitted)} new recording(s), {report.already_seen} seen before, "
            f"organizers {', '.join(settings.graph.organizers)}"
        )
        if report.emitted:
            run_calls(resources, len(report.emitted))
        _print_outcomes(resources, box.info.recordings)
    finally:
        resources.close()


def topology_settings(settings: Settings, webhook_base_url: str, *, lease_s: float = 10.0) -> Settings:
    """``settings`` (pointed at a tenant) with the webhook of a balancer in front of the API replicas."""
    graph = settings.graph.model_copy(
        update={
            "notification_url": f"{webhook_base_url}/graph/notifications",
            "lifecycle_notification_url": f"{webhook_base_url}/graph/lifecycle",
            "client_state": SecretStr(secrets.token_urlsafe(24)),
            "leader_lease_s": lease_s,
            # The webhook is the fast path; the delta sync is the safety net for what it misses.
            "delta_interval_s": 60.0,
        }
    )
    return settings.model_copy(update={"graph": graph})


def forget_previous_tenant(resources: Resources) -> None:
    """A new emulated tenant has no subscriptions and other delta tokens: drop what an earlier run saved (the
    recordings and their results stay, so nothing is processed or published again)."""
    with resources.database.session() as session:
        session.execute(delete(GraphStateRow).where(GraphStateRow.kind.in_(("subscription", "delta_link"))))


def _run_topology(box: Sandbox, settings: Settings, *, timeout_s: float = 1800.0) -> None:
    from dealtalk.pipeline.bus.kafka.admin import create_topics
    from dealtalk.pipeline.topology import LocalTopology

    create_topics(settings.kafka)
    topology = LocalTopology(settings, settings.data_dir / "topology")
    settings = topology_settings(settings, topology.webhook_base_url)
    topology.settings = settings
    resources = Resources.open(settings)
    try:
        forget_previous_tenant(resources)
        with topology:
            topology.start()
            console.print(
                f"topology: {topology.api_replicas} API replicas behind {topology.webhook_base_url}, workers "
                f"{', '.join(topology.workers)}; logs in {topology.log_dir}"
            )
            _wait_for_subscriptions(resources, len(settings.graph.organizers), timeout_s=120)
            sent = box.publish_recordings()
            console.print(f"Graph: {len(sent)} recording(s) added, {sum(sent.values())} notification(s) sent")
            _wait_for_publications(resources, box.info.recordings, timeout_s=timeout_s)
        _print_outcomes(resources, box.info.recordings)
    finally:
        resources.close()


def _wait_for_subscriptions(resources: Resources, count: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with resources.database.session() as session:
            found = session.scalars(
                select(GraphStateRow.key).where(GraphStateRow.kind == "subscription")
            ).all()
        if len(found) >= count:
            return
        time.sleep(0.5)
    raise TransientError(
        f"the API replicas created no Graph subscriptions in {timeout_s:.0f} s (see their logs)"
    )


def _wait_for_publications(resources: Resources, recordings: tuple[str, ...], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with console.status("waiting for the workers: fetch, transcribe, analyze, publish...") as status:
        while time.monotonic() < deadline:
            with resources.database.session() as session:
                done = set(
                    session.scalars(
                        select(PublicationRow.recording_id).where(PublicationRow.recording_id.in_(recordings))
                    )
                )
            failed = [r for r in recordings if r not in done and _failed(resources, r)]
            status.update(f"waiting for the workers: {len(done)}/{len(recordings)} published")
            if len(done) + len(failed) >= len(recordings):
                return
            time.sleep(1.0)
    raise TransientError(f"not every call was published within {timeout_s:.0f} s (see the topology logs)")


def _failed(resources: Resources, recording_id: str) -> bool:
    outcome = load_outcome(resources.database, resources.blobs, recording_id)
    return outcome.status.startswith("failed:")


def _print_outcomes(resources: Resources, recordings: tuple[str, ...]) -> None:
    for recording in recordings:
        outcome = load_outcome(resources.database, resources.blobs, recording)
        published = outcome.published
        if published is None:
            console.print(f"[red]{recording}: {outcome.status}[/red] {outcome.failure or ''}")
            continue
        language = outcome.result.language if outcome.result is not None else "-"
        console.print(
            f"{recording} -> opportunity {published.opportunity_name or published.opportunity_id or '-'} "
            f"({published.link_method}) -> activity {published.activity_id or '(unlinked)'} [{language}]"
        )
