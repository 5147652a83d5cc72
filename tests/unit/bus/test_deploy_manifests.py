"""The deployment files agree with the code: every DEALTALK_* variable they set exists in the settings model
(and the values parse), and every command they run is a valid ``dealtalk`` command line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.core import TyperGroup

from dealtalk.cli.main import app
from dealtalk.contracts.config import KafkaSettings, Settings
from dealtalk.pipeline.bus.kafka.topics import STAGE_INPUTS, TopicNames
from tests.support.settings_names import setting_exists

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
K8S = DEPLOY / "k8s"
_POD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _k8s_documents() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in _documents(path)
    ]


def _check_command(argv: list[str]) -> None:
    """Parse ``argv`` as the CLI would (subcommands, options, choices) without running it.

    Raises:
        AssertionError: not a dealtalk command, or no such subcommand.
        Exception: Typer's (vendored Click's) usage error for an unknown option or a bad value.
    """
    assert argv and argv[0] == "dealtalk", f"not a dealtalk command: {argv}"
    command: Any = typer.main.get_command(app)
    args, name = argv[1:], "dealtalk"
    while isinstance(command, TyperGroup):
        assert args, f"{argv}: a subcommand is missing"
        name, args = args[0], args[1:]
        sub = command.get_command(typer.Context(command), name)
        assert sub is not None, f"{argv}: no command {name!r}"
        command = sub
    command.make_context(name, list(args))


def _usage_error() -> type[Exception]:
    """Typer vendors Click; its UsageError is the base of what a bad command line raises."""
    try:
        _check_command(["dealtalk", "worker", "--no-such-option"])
    except AssertionError:
        raise
    except Exception as exc:  # the class we are looking for
        return next(cls for cls in type(exc).__mro__ if cls.__name__ == "UsageError")
    raise AssertionError("an unknown option was accepted")


def _dealtalk_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in _k8s_documents():
        if doc["kind"] not in _POD_KINDS:
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            if str(container["image"]).startswith("dealtalk"):
                yield doc["metadata"]["name"], container


def _compose_dealtalk_services() -> dict[str, dict[str, Any]]:
    services = _documents(DEPLOY / "compose.yaml")[0]["services"]
    return {name: s for name, s in services.items() if str(s.get("image", "")).startswith("dealtalk")}


def test_the_parser_check_itself_refuses_what_the_cli_refuses() -> None:
    _check_command(["dealtalk", "worker", "--stage", "transcribe"])
    for wrong in (
        ["dealtalk", "wurker"],
        ["dealtalk", "worker", "--stage", "translate"],
        ["dealtalk", "topics"],
    ):
        with pytest.raises((AssertionError, _usage_error())):
            _check_command(wrong)
    with pytest.raises(_usage_error(), match="No such option"):
        _check_command(["dealtalk", "dlq", "list", "--everything"])
    assert setting_exists("DEALTALK_KAFKA__GROUP_INSTANCE_ID") and setting_exists("DEALTALK_DATA_DIR")
    assert not setting_exists("DEALTALK_KAFKA__GROUP_INSTANCE") and not setting_exists("KAFKA_BROKERS")


def test_compose_sets_only_settings_that_exist_and_runs_real_commands() -> None:
    services = _compose_dealtalk_services()
    assert {"topics", "api", "worker-fetch", "worker-transcribe", "worker-transcribe-gpu"} <= set(services)
    assert {"worker-analyze", "worker-publish"} <= set(services)
    for name, service in services.items():
        environment = service.get("environment", {})
        unknown = [variable for variable in environment if not setting_exists(variable)]
        assert not unknown, f"compose service {name} sets {unknown}"
        _check_command(service["command"])


def test_kubernetes_sets_only_settings_that_exist_and_runs_real_commands() -> None:
    documents = _k8s_documents()
    config = {d["metadata"]["name"]: d.get("data", {}) for d in documents if d["kind"] == "ConfigMap"}
    secret_keys = {
        key
        for path in K8S.glob("secret*.yaml")
        for doc in _documents(path)
        for key in doc.get("stringData", {})
    }
    for variable in [*config["dealtalk-config"], *secret_keys]:
        assert setting_exists(variable), variable
    roles = set()
    for name, container in _dealtalk_containers():
        roles.add(name)
        for entry in container.get("env", []):
            assert setting_exists(entry["name"]), f"{name} sets {entry['name']}"
        for source in container.get("envFrom", []):
            ref = source.get("configMapRef") or source.get("secretRef")
            assert ref["name"] in {*config, "dealtalk-secrets"}, f"{name} reads an unknown {ref['name']}"
        _check_command(container["command"])
    assert {"dealtalk-api", "dealtalk-topics", "dealtalk-worker-transcribe-gpu"} <= roles
    assert {f"dealtalk-worker-{stage}" for stage in ("fetch", "transcribe", "analyze", "publish")} <= roles


def test_the_kubernetes_configuration_loads_as_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ConfigMap, the example Secret and each worker's own variables together give valid settings."""
    documents = _k8s_documents()
    config = next(d["data"] for d in documents if d["kind"] == "ConfigMap")
    secrets = next(d["stringData"] for d in _documents(K8S / "secret.example.yaml"))
    for name, container in _dealtalk_containers():
        for variable in [n for n in os.environ if n.startswith("DEALTALK_")]:
            monkeypatch.delenv(variable)
        for variable, value in {**config, **secrets}.items():
            monkeypatch.setenv(variable, str(value))
        for entry in container.get("env", []):
            monkeypatch.setenv(entry["name"], str(entry.get("value", f"{name}-0")))
        settings = Settings.load()
        assert settings.bus.kind == "kafka" and settings.kafka.security_protocol == "SASL_SSL"


def test_autoscaling_watches_the_groups_and_topics_the_workers_use() -> None:
    config = next(d["data"] for d in _k8s_documents() if d["kind"] == "ConfigMap")
    names = TopicNames.from_settings(
        KafkaSettings(
            topic_prefix=config["DEALTALK_KAFKA__TOPIC_PREFIX"],
            group_prefix=config["DEALTALK_KAFKA__GROUP_PREFIX"],
        )
    )
    scaled = [d for d in _k8s_documents() if d["kind"] == "ScaledObject"]
    assert {d["spec"]["scaleTargetRef"]["name"] for d in scaled} == {
        f"dealtalk-worker-{stage}" for stage in ("fetch", "transcribe", "analyze", "publish")
    }
    partitions = int(config["DEALTALK_KAFKA__PARTITIONS"])
    for doc in scaled:
        stage = doc["spec"]["scaleTargetRef"]["name"].removeprefix("dealtalk-worker-")
        trigger = doc["spec"]["triggers"][0]["metadata"]
        assert trigger["consumerGroup"] == names.group_of(stage)
        assert trigger["topic"] == names.of_event(STAGE_INPUTS[stage])
        assert doc["spec"]["maxReplicaCount"] <= partitions  # more replicas than partitions would idle


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = set(_documents(K8S / "kustomization.yaml")[0]["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present
