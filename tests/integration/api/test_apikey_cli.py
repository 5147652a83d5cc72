"""``dealtalk apikey create|list|revoke`` through the real command line (Typer), against SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dealtalk.api.auth.apikeys import authenticate_key
from dealtalk.cli.main import app
from dealtalk.pipeline.store import open_database


def test_create_prints_the_key_once_list_hides_it_revoke_kills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEALTALK_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    created = runner.invoke(app, ["apikey", "create", "--role", "analyst", "--name", "powerbi"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("dtk_")
    database = open_database(f"sqlite:///{tmp_path / 'data' / 'dealtalk.db'}")
    try:
        principal = authenticate_key(database, key, None)
        assert principal is not None and principal.roles == frozenset({"analyst"})
        listed = runner.invoke(app, ["apikey", "list"])
        assert (
            listed.exit_code == 0 and "powerbi" in listed.stdout and key.split("_")[-1] not in listed.stdout
        )
        key_id = key.split("_")[1]
        assert runner.invoke(app, ["apikey", "revoke", key_id]).exit_code == 0
        assert authenticate_key(database, key, None) is None
        assert runner.invoke(app, ["apikey", "revoke", key_id]).exit_code == 1
        assert runner.invoke(app, ["apikey", "create", "--role", "root", "--name", "x"]).exit_code == 2
    finally:
        database.dispose()
