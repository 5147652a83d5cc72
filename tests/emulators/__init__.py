"""Strict local emulators of Microsoft Graph, Dataverse and the identity platform (real HTTP on 127.0.0.1).

Run one from the repository root: ``python -m tests.emulators.graph --help`` or
``python -m tests.emulators.dataverse --help``.
"""
