"""The local device CA: one CA per directory, kept; certificates name their identity."""

from __future__ import annotations

import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from iot.pki import CertificateAuthority, check_identity_name, common_name, default_pki_dir


def _signed_by(cert_file, ca_file) -> bool:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, InvalidSignature):
        return False
    return True


def test_a_client_certificate_names_the_thing_and_is_signed_by_the_ca(tmp_path):
    authority = CertificateAuthority(tmp_path / "pki")
    issued = authority.issue_client("washer-001-0")
    assert common_name(issued.cert_file) == "washer-001-0"
    assert _signed_by(issued.cert_file, issued.ca_file)
    cert = x509.load_pem_x509_certificate(issued.cert_file.read_bytes())
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_keys_and_the_directory_are_private(tmp_path):
    authority = CertificateAuthority(tmp_path / "pki")
    issued = authority.issue_client("washer-001-0")
    assert stat.S_IMODE(issued.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "pki" / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "pki").stat().st_mode) == 0o700


def test_the_ca_is_kept_so_earlier_certificates_stay_valid(tmp_path):
    first = CertificateAuthority(tmp_path / "pki").issue_client("washer-001-0")
    # A second process (e.g. `faultline device register` while `up` runs) uses the same CA.
    second = CertificateAuthority(tmp_path / "pki").issue_client("oven-002-1")
    assert first.ca_file.read_bytes() == second.ca_file.read_bytes()
    assert _signed_by(first.cert_file, second.ca_file)
    other = CertificateAuthority(tmp_path / "elsewhere").issue_client("oven-002-1")
    assert not _signed_by(first.cert_file, other.ca_file)


def test_ensure_keeps_an_issued_certificate_and_issue_replaces_it(tmp_path):
    authority = CertificateAuthority(tmp_path)
    assert authority.client_certificate("washer-001-0") is None
    issued = authority.ensure_client("washer-001-0")
    pem = issued.cert_file.read_bytes()
    assert authority.ensure_client("washer-001-0").cert_file.read_bytes() == pem
    assert authority.client_certificate("washer-001-0") == issued
    authority.issue_client("washer-001-0")
    assert issued.cert_file.read_bytes() != pem


def test_the_server_certificate_is_valid_for_the_host(tmp_path):
    server = CertificateAuthority(tmp_path).issue_server("127.0.0.2")
    cert = x509.load_pem_x509_certificate(server.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("127.0.0.2"),
    }
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert _signed_by(server.cert_file, server.ca_file)


@pytest.mark.parametrize(
    "name",
    ["", "a/b", "+", "wash#er", "x" * 129, "washer 1", "%u", "faultline-rules-engine"],
)
def test_names_that_would_widen_a_topic_or_claim_a_service_are_refused(tmp_path, name):
    with pytest.raises(ValueError):
        CertificateAuthority(tmp_path).issue_client(name)
    assert not (tmp_path / "clients").exists() or not any((tmp_path / "clients").iterdir())


def test_service_identities_carry_the_service_prefix():
    assert check_identity_name("faultline-rules-engine", service=True)
    with pytest.raises(ValueError, match="start with"):
        check_identity_name("washer-001-0", service=True)
    assert check_identity_name("thing:with_colon-1") == "thing:with_colon-1"


def test_default_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_pki_dir() == tmp_path / "faultline" / "pki"
