"""The emulators' test CA: a real chain that strict clients verify, and nothing else trusts."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from dealtalk.emulators.tls import make_test_ca


def _handshake(server_context: ssl.SSLContext, client_context: ssl.SSLContext, host: str) -> str:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            connection, _ = listener.accept()
            try:
                with server_context.wrap_socket(connection, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = str(tls.version())
            tls.send(b"x")
        thread.join(5)
    return version


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_chain_verifies_strictly_for_loopback_names(tmp_path: Path, host: str) -> None:
    ca = make_test_ca(tmp_path)
    client = ssl.create_default_context(cafile=str(ca.ca_file))
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13 turns on by default
    assert _handshake(ca.context, client, host) in ("TLSv1.2", "TLSv1.3")


def test_the_ca_is_not_trusted_by_default_and_each_start_is_a_new_ca(tmp_path: Path) -> None:
    ca = make_test_ca(tmp_path / "a")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.context, ssl.create_default_context(), "127.0.0.1")
    other = make_test_ca(tmp_path / "b")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.context, ssl.create_default_context(cafile=str(other.ca_file)), "127.0.0.1")
