"""Maps the design's top-level folders under the ``dealtalk`` namespace.

The repository keeps ``ingest/``, ``transcription/``, ``nlp/``, ... at the top level; installed, they become
``dealtalk.ingest``, ``dealtalk.transcription``, ... so that no generic top-level ``models`` or ``nlp`` module
lands in site-packages. Everything else about the distribution lives in ``pyproject.toml``. Editable installs
use ``--config-settings editable_mode=strict`` (see ``scripts/setup.sh``): a link tree that mypy can follow.
"""

from setuptools import find_packages, setup

# Bottom to top (ARCHITECTURE.md): shared contracts and sample data, model loaders, the stage folders, the
# runtime and composition root (pipeline), the API and the CLI; the emulated Microsoft tenant of the sandbox.
TOP_LEVEL = (
    "contracts",
    "samples",
    "models",
    "ingest",
    "transcription",
    "nlp",
    "publisher",
    "pipeline",
    "api",
    "cli",
    "emulators",
)

setup(
    packages=[f"dealtalk.{name}" for name in find_packages(include=[f"{top}*" for top in TOP_LEVEL])],
    package_dir={f"dealtalk.{top}": top for top in TOP_LEVEL},
)
