"""Strict local emulators of Microsoft Graph, Dataverse and the identity platform (HTTPS on 127.0.0.1).

Run one from the repository root: ``python -m tests.emulators.graph --help`` or
``python -m tests.emulators.dataverse --help``. They serve TLS with a test CA generated at start
(``tls.py``); clients trust its ``ca_file``. ``tests/integration/m365/conformance`` drives them with
Microsoft's own clients (the Dataverse SDK, msgraph-sdk, MSAL, azure-identity).
"""
