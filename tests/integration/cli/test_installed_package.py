"""The wheel a user installs carries what `dealtalk demo --sandbox` needs outside this repository.

The closing check of the layout (a fresh venv, `pip install '.[sandbox]'`, `dealtalk demo --sandbox` in another
folder) takes minutes of installing; this test pins what makes it work: the emulators, the sample calls and the
CRM fixture are in the wheel, and the `sandbox` extra names the product's extras and the emulators' packages.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (built,) = out.glob("dealtalk-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_the_emulators_and_the_sample_tenant(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for required in (
        "dealtalk/emulators/launcher.py",
        "dealtalk/emulators/sandbox.py",
        "dealtalk/emulators/graph/server.py",
        "dealtalk/emulators/dataverse/server.py",
        "dealtalk/samples/__init__.py",
        "dealtalk/samples/crm.json",
        "dealtalk/contracts/config.py",
        "dealtalk/cli/__main__.py",
    ):
        assert required in names, required
    calls = [n for n in names if n.startswith("dealtalk/samples/calls/") and n.endswith(".flac")]
    assert len(calls) == 3
    # Nothing of the test tree ships: the product never imports it.
    assert not [n for n in names if n.startswith("tests/")]


def test_the_sandbox_extra_brings_the_product_and_the_emulators_packages(wheel: zipfile.ZipFile) -> None:
    (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    assert "sandbox" in metadata.get_all("Provides-Extra", [])
    sandbox = [r for r in metadata.get_all("Requires-Dist", []) if 'extra == "sandbox"' in r]
    joined = " ".join(sandbox)
    for needed in ("cryptography", "pyjwt", "speech", "nlp", "m365", "api"):
        assert needed in joined, (needed, sandbox)
    entry_points = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "dealtalk = dealtalk.cli.main:main" in wheel.read(entry_points[0]).decode()
