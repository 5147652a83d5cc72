"""Kafka settings, connection options for plain, Event Hubs and SCRAM clusters, topic names and the plan."""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError

from dealtalk.contracts.config import KafkaSettings, Settings
from dealtalk.contracts.events import TOPICS, AudioStored, RecordingDiscovered, StageFailed, TranscriptReady
from dealtalk.pipeline.bus.kafka.connection import client_options, describe_cluster
from dealtalk.pipeline.bus.kafka.topics import STAGE_INPUTS, TopicNames, topic_plan


def test_plain_cluster_options() -> None:
    options = client_options(
        KafkaSettings(bootstrap_servers="kafka:9092", client_id="w"), client_id_suffix="-x"
    )
    assert options == {
        "bootstrap_servers": "kafka:9092",
        "client_id": "w-x",
        "request_timeout_ms": 40_000,
        "security_protocol": "PLAINTEXT",
    }


def test_event_hubs_is_sasl_ssl_plain_with_the_connection_string_as_password() -> None:
    connection_string = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=abc="
    settings = KafkaSettings(
        bootstrap_servers="ns.servicebus.windows.net:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="$ConnectionString",
        sasl_password=connection_string,
    )
    options = client_options(settings)
    assert options["sasl_mechanism"] == "PLAIN"
    assert options["sasl_plain_username"] == "$ConnectionString"
    assert options["sasl_plain_password"] == connection_string
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert connection_string not in repr(settings)
    assert describe_cluster(settings) == "ns.servicebus.windows.net:9093 (SASL_SSL/PLAIN)"


def test_scram_cluster_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALTALK_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("DEALTALK_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("DEALTALK_KAFKA__SASL_USERNAME", "dealtalk")
    monkeypatch.setenv("DEALTALK_KAFKA__SASL_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("DEALTALK_KAFKA__SSL_CHECK_HOSTNAME", "false")
    options = client_options(Settings.load().kafka)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512" and options["sasl_plain_password"] == "s3cret-pw"
    # Not checking the host name must not switch off checking the certificate itself.
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert not options["ssl_context"].check_hostname


def test_switching_off_certificate_verification_is_its_own_setting_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DEALTALK_KAFKA__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("DEALTALK_KAFKA__SSL_VERIFY", "false")
    with caplog.at_level("WARNING"):
        options = client_options(Settings.load().kafka)
    assert options["ssl_context"].verify_mode == ssl.CERT_NONE
    assert "NOT verified" in caplog.text
    with pytest.raises(ValidationError, match="SSL_VERIFY"):
        Settings.load(profile="production")


def test_sasl_without_credentials_is_refused_with_the_variables_to_set() -> None:
    with pytest.raises(ValidationError, match="DEALTALK_KAFKA__SASL_MECHANISM"):
        KafkaSettings(security_protocol="SASL_SSL")
    with pytest.raises(ValidationError, match="DEALTALK_KAFKA__SASL_USERNAME"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256")


def test_heartbeat_must_fit_three_times_in_the_session() -> None:
    with pytest.raises(ValidationError, match="at most a third"):
        KafkaSettings(session_timeout_ms=6000, heartbeat_interval_ms=3000)


def test_topic_and_group_names() -> None:
    names = TopicNames(prefix="acme", group_prefix="acme-prod")
    assert names.of_event(RecordingDiscovered) == "acme.recordings.discovered"
    assert names.of(AudioStored.model_construct()) == "acme.audio.stored"  # type: ignore[call-arg]
    assert names.retry_of("transcribe") == "acme.retry.transcribe"
    assert names.dead_letters == "acme.stage.failed"
    assert names.group_of("analyze") == "acme-prod.analyze"
    assert names.needed_by("transcribe", AudioStored) == {
        "acme.audio.stored",
        "acme.retry.transcribe",
        "acme.transcripts.ready",
        "acme.stage.failed",
    }
    assert TopicNames(prefix="", group_prefix="").of_event(TranscriptReady) == "transcripts.ready"


def test_the_plan_has_every_hand_over_a_retry_topic_per_stage_and_the_dead_letters() -> None:
    settings = KafkaSettings(topic_prefix="p", partitions=12, replication_factor=3, min_insync_replicas=2)
    plan = {spec.name: spec for spec in topic_plan(settings)}
    hand_overs = {f"p.{name}" for event, name in TOPICS.items() if event is not StageFailed}
    retries = {f"p.retry.{stage}" for stage in STAGE_INPUTS}
    assert set(plan) == hand_overs | retries | {"p.stage.failed"}
    assert all(spec.partitions == 12 and spec.replication_factor == 3 for spec in plan.values())
    assert plan["p.audio.stored"].config["min.insync.replicas"] == "2"
    assert plan["p.stage.failed"].config["retention.ms"] == str(settings.dead_letter_retention_ms)
    assert plan["p.audio.stored"].config["retention.ms"] == str(settings.retention_ms)
    single = {spec.name: spec for spec in topic_plan(KafkaSettings(min_insync_replicas=2))}
    assert single["dealtalk.audio.stored"].config["min.insync.replicas"] == "1"  # never above the replicas
