"""A local certificate authority for device identity: the local counterpart of AWS IoT's
CreateKeysAndCertificate + AttachPolicy.

One CA per state directory signs the broker's server certificate and one client
certificate per identity: an appliance (CN = its IoT thing name) or a cloud-side service
(the rules engine, the IoT data plane). Mosquitto takes the CN as the username and the
client id, and its ACL grants topics by it, so the certificate is the identity.

Layout of the state directory (created 0700; keys are written 0600)::

    ca.pem ca.key            the CA (kept: certificates issued earlier stay valid)
    server/<host>.pem .key   the broker's certificate for the host it listens on
    clients/<name>.pem .key  one per identity

Keys are EC P-256: a few hundred seeded appliances get their keys in well under a second,
where RSA-2048 would take seconds.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "SERVICE_PREFIX",
    "CertificateAuthority",
    "ClientCertificate",
    "ServerCertificate",
    "check_identity_name",
    "common_name",
    "default_pki_dir",
]

#: Identities of the cloud side start with this; appliances may not take such a name,
#: or a device could claim the rules engine's ACL rights.
SERVICE_PREFIX = "faultline-"
CA_NAME = "Faultline local device CA"
VALIDITY = datetime.timedelta(days=825)
# IoT thing names: letters, digits and ``:_-``, at most 128 characters.
_THING_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-")


def default_pki_dir() -> Path:
    """Where `faultline up --tls` and `faultline device register` keep the CA: one place,
    so a device registered in one shell is trusted by the broker started in another, and
    registered devices keep working across restarts of the stack."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "faultline" / "pki"


@dataclass(frozen=True)
class ClientCertificate:
    """What a client needs for mutual TLS: its certificate and key, and the CA to trust."""

    name: str
    cert_file: Path
    key_file: Path
    ca_file: Path

    def tls_set(self, client: Any) -> None:
        """Make a paho client present this certificate and trust only the local CA."""
        client.tls_set(
            ca_certs=str(self.ca_file), certfile=str(self.cert_file), keyfile=str(self.key_file)
        )


@dataclass(frozen=True)
class ServerCertificate:
    cert_file: Path
    key_file: Path
    ca_file: Path


def check_identity_name(name: str, *, service: bool = False) -> str:
    """`name` if it is a valid IoT thing name (or, with `service`, a service identity)."""
    if not name or len(name) > 128 or not set(name) <= _THING_NAME_CHARS:
        raise ValueError(
            f"invalid thing name {name!r}: 1-128 characters of letters, digits, ':', '_', '-'"
        )
    if name.startswith(SERVICE_PREFIX) != service:
        raise ValueError(
            f"thing names may not start with {SERVICE_PREFIX!r} (reserved for the cloud side)"
            if not service
            else f"service identities start with {SERVICE_PREFIX!r}"
        )
    return name


class CertificateAuthority:
    """The CA in `directory`, created on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.ca_file = self.directory / "ca.pem"
        self._ca_key_file = self.directory / "ca.key"
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._cert: x509.Certificate | None = None

    # -- the CA itself

    def _load_or_create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        if self._key is not None and self._cert is not None:
            return self._key, self._cert
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.ca_file.exists() and self._ca_key_file.exists():
            key = serialization.load_pem_private_key(self._ca_key_file.read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{self._ca_key_file} is not an EC key")
            cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
            cert = (
                _builder(name, name, key.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_key_usage(ca=True), critical=True)
                .sign(key, hashes.SHA256())
            )
            _write_key(self._ca_key_file, key)
            self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._key, self._cert = key, cert
        return key, cert

    # -- issuing

    def client_certificate(self, name: str) -> ClientCertificate | None:
        """The certificate already issued to `name`, or None."""
        cert_file, key_file = self._client_files(name)
        if not (cert_file.exists() and key_file.exists() and self.ca_file.exists()):
            return None
        return ClientCertificate(name, cert_file, key_file, self.ca_file)

    def issue_client(self, name: str, *, service: bool = False) -> ClientCertificate:
        """A new key and certificate with CN = `name` (replacing any earlier files)."""
        check_identity_name(name, service=service)
        cert_file, key_file = self._client_files(name)
        self._issue(name, ExtendedKeyUsageOID.CLIENT_AUTH, [], cert_file, key_file)
        return ClientCertificate(name, cert_file, key_file, self.ca_file)

    def ensure_client(self, name: str, *, service: bool = False) -> ClientCertificate:
        """The certificate issued to `name` earlier, else a new one."""
        self._load_or_create()
        existing = self.client_certificate(name)
        return existing or self.issue_client(name, service=service)

    def issue_server(self, host: str) -> ServerCertificate:
        """The broker's certificate, valid for `host` (and localhost / 127.0.0.1)."""
        names: list[x509.GeneralName] = [x509.DNSName("localhost")]
        addresses = {"127.0.0.1", host}
        for value in sorted(addresses):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(value)))
            except ValueError:
                names.append(x509.DNSName(value))
        directory = self.directory / "server"
        cert_file, key_file = directory / f"{host}.pem", directory / f"{host}.key"
        alternative_names = x509.SubjectAlternativeName(names)
        self._issue(host, ExtendedKeyUsageOID.SERVER_AUTH, [alternative_names], cert_file, key_file)
        return ServerCertificate(cert_file, key_file, self.ca_file)

    def _issue(
        self,
        name: str,
        usage: x509.ObjectIdentifier,
        extensions: list[x509.ExtensionType],
        cert_file: Path,
        key_file: Path,
    ) -> None:
        """A new key and a leaf certificate (CN = `name`) signed by the CA, written out."""
        ca_key, ca_cert = self._load_or_create()
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            _builder(subject, ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_key(key_file, key)
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _client_files(self, name: str) -> tuple[Path, Path]:
        # Checked here too: the name becomes a path, so no separators may reach it.
        check_identity_name(name, service=name.startswith(SERVICE_PREFIX))
        clients = self.directory / "clients"
        return clients / f"{name}.pem", clients / f"{name}.key"


def common_name(cert_file: Path) -> str:
    """The subject CN of a PEM certificate (what Mosquitto takes as the identity)."""
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        raise ValueError(f"{cert_file} has no common name")
    return str(values[0].value)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # A minute of slack for a clock that is slightly behind the one that signed it.
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + VALIDITY)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created 0600 from the start: never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
