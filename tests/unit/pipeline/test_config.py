"""Settings: one object from environment, .env and TOML, with nested groups and refused placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dealtalk.contracts.config import Settings


def test_defaults_are_the_embedded_profile(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path)
    assert settings.bus.kind == "embedded"
    assert settings.database_url == f"sqlite:///{(tmp_path / 'dealtalk.db').resolve()}"
    assert settings.blob_root == tmp_path / "blobs"
    assert settings.publisher.mode == "dry-run"


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEALTALK_BUS__KIND", "kafka")
    monkeypatch.setenv("DEALTALK_KAFKA__PARTITIONS", "12")
    monkeypatch.setenv("DEALTALK_SPEECH__DEVICE", "cuda")
    monkeypatch.setenv("DEALTALK_TENANT__INTERNAL_DOMAINS", '["example.nl", "example.com"]')
    settings = Settings.load(data_dir=tmp_path)
    assert settings.bus.kind == "kafka"
    assert settings.kafka.partitions == 12
    assert settings.speech.device == "cuda"
    assert settings.tenant.internal_domains == ("example.nl", "example.com")


def test_toml_file_and_environment_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "dealtalk.toml"
    config.write_text('log_level = "DEBUG"\n[bus]\nmax_attempts = 9\nlease_s = 30\n')
    monkeypatch.setenv("DEALTALK_CONFIG_FILE", str(config))
    monkeypatch.setenv("DEALTALK_BUS__LEASE_S", "45")
    settings = Settings.load(data_dir=tmp_path)
    assert settings.log_level == "DEBUG"
    assert settings.bus.max_attempts == 9
    assert settings.bus.lease_s == 45  # the environment wins over the file


def test_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALTALK_BUS__LEASE_SECONDS", "10")
    with pytest.raises(ValidationError, match="lease_seconds"):
        Settings.load()


def test_placeholder_secret_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALTALK_PROFILE", "production")
    monkeypatch.setenv("DEALTALK_DATAVERSE__CLIENT_SECRET", "changeme")
    with pytest.raises(ValidationError, match="DEALTALK_DATAVERSE__CLIENT_SECRET holds a placeholder"):
        Settings.load()


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALTALK_KAFKA__SASL_PASSWORD", "s3cr3t-value")
    settings = Settings.load()
    assert "s3cr3t-value" not in repr(settings)
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == "s3cr3t-value"
