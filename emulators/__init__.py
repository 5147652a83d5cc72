"""Strict local emulators of Microsoft Graph, Dataverse and the identity platform (HTTPS on 127.0.0.1).

Installed with dealtalk (``pip install 'dealtalk[sandbox]'`` adds the packages they need); the product's
``dealtalk demo --sandbox`` starts them through ``launcher.py`` and the tests use the same package. Run one
alone: ``python -m dealtalk.emulators.graph --help`` or ``python -m dealtalk.emulators.dataverse --help``. They
serve TLS with a test CA generated at start (``tls.py``); clients trust its ``ca_file``.
``tests/integration/m365/conformance`` drives them with Microsoft's own clients (the Dataverse SDK, msgraph-sdk,
MSAL, azure-identity).
"""
