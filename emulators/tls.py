"""A throwaway test CA for the emulators: a CA certificate and a server certificate for localhost/127.0.0.1.

Microsoft's clients refuse plain HTTP (the Dataverse SDK, MSAL, azure-identity), so every emulator is served
over TLS with a certificate issued by a CA generated at start. Clients trust the CA file (``ca_file``) through
their documented settings (``verify=``/``connection_verify=``, the product's ``ca_bundle``); nothing is patched.
The CA and the server certificate are separate (CA: ``BasicConstraints(ca=True)``, ``keyCertSign``; server:
``ca=False``, ``serverAuth``), so strict X.509 verification (Python 3.13's default flags) accepts the chain.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestCA", "make_test_ca"]


@dataclass(frozen=True)
class TestCA:
    """The server-side TLS context every emulator can share, and the CA file clients trust."""

    __test__ = False  # not a pytest test class

    context: ssl.SSLContext
    ca_file: Path


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_encipherment=False,
        key_cert_sign=ca,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_test_ca(directory: Path, *, days: int = 2) -> TestCA:
    """Generate a CA and a 127.0.0.1/localhost server certificate under ``directory``.

    Writes ``emulator-ca.pem`` (the CA certificate, what clients trust), ``emulator-server.pem`` (server
    certificate followed by the CA, the chain the server sends) and ``emulator-key.pem`` (the server key).
    """
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dealtalk emulator test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "emulator-ca.pem"
    chain_file = directory / "emulator-server.pem"
    key_file = directory / "emulator-key.pem"
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_file.write_bytes(ca_pem)
    chain_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(chain_file, key_file)
    return TestCA(context, ca_file)
