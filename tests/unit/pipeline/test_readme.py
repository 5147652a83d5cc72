"""The README's configuration table is the one the settings model generates (no drift), every setting the
docs name exists, and the README's two commands are the ones CI runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from tests.support.settings_names import setting_exists

ROOT = Path(__file__).resolve().parents[3]


def test_config_table_matches_the_settings_model() -> None:
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "scripts" / "config_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.embed(readme) == readme, "run: .venv/bin/python scripts/config_table.py --write README.md"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/setup.sh && .venv/bin/dealtalk demo" in readme
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# A full variable name: not a prefix the prose abbreviates (`DEALTALK_KAFKA__*_GRACE_S`, `DEALTALK_GRAPH__`).
_VARIABLE = re.compile(r"\bDEALTALK_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*[*])")


def test_every_setting_the_docs_name_exists() -> None:
    documents = [ROOT / "README.md", ROOT / "deploy" / "README.md"]
    named = {match for path in documents for match in _VARIABLE.findall(path.read_text(encoding="utf-8"))}
    assert len(named) > 20  # the pattern still finds the names
    # DEALTALK_CONFIG_FILE chooses the settings file itself, so it is read before the model exists.
    assert "DEALTALK_CONFIG_FILE" in (ROOT / "contracts" / "config.py").read_text(encoding="utf-8")
    unknown = sorted(name for name in named - {"DEALTALK_CONFIG_FILE"} if not setting_exists(name))
    assert unknown == []
