"""Certificates as providers/x509.py describes them, and the `tls.certificate` finding on them.

The certificates are made here with cryptography: RSA, EC and Ed25519 keys, subjectAltNames
with names and addresses, chains in and out of order, expired ones. Bytes from the network
that are not a certificate (empty, garbage, truncated) give a CertificateError that says what
is wrong, and the check turns it into an error finding, never a traceback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.contract import CheckStatus
from providers.network_checks import certificate_finding
from providers.x509 import CertificateError, parse_certificate, parse_chain
from tests.integration.http_provider_helpers import provider_for, run
from tests.servers.http import Certificate, serve_http

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
AFTER = datetime(2026, 1, 1, tzinfo=UTC)

Key: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class Issued:
    """A certificate made here: its DER bytes, and the key and name that can sign others."""

    der: bytes
    key: Key
    name: x509.Name


def _name(common_name: str, *more: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    """A name with `more` attributes first and the common name last, as CAs write them."""
    attributes = [x509.NameAttribute(oid, value) for oid, value in more]
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: x509.Name,
    key: Key,
    issuer: Issued | None = None,
    *,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    not_before: datetime = BEFORE,
    not_after: datetime = AFTER,
    hash_algorithm: hashes.HashAlgorithm | None = None,
) -> Issued:
    """A certificate for `subject`'s `key`, signed by `issuer` (self-signed without one)."""
    signer_key, signer_name = (key, subject) if issuer is None else (issuer.key, issuer.name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ips]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    if isinstance(signer_key, ed25519.Ed25519PrivateKey):
        algorithm = None  # Ed25519 signs without a separate hash
    else:
        algorithm = hash_algorithm or hashes.SHA256()
    certificate = builder.sign(signer_key, algorithm)
    return Issued(certificate.public_bytes(serialization.Encoding.DER), key, subject)


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def root() -> Issued:
    return _issue(_name("Triage Test Root", (NameOID.ORGANIZATION_NAME, "Triage")), _rsa())


@pytest.fixture(scope="module")
def intermediate(root: Issued) -> Issued:
    key = ec.generate_private_key(ec.SECP384R1())
    subject = _name("Triage Test Intermediate", (NameOID.ORGANIZATION_NAME, "Triage"))
    return _issue(subject, key, root, hash_algorithm=hashes.SHA384())


@pytest.fixture(scope="module")
def leaf(intermediate: Issued) -> Issued:
    return _issue(
        _name("api.example.test"),
        _rsa(),
        intermediate,
        dns=("api.example.test", "*.api.example.test"),
        ips=("192.0.2.10", "2001:db8::1"),
    )


class TestFields:
    def test_an_rsa_certificate_with_names_and_addresses(self, leaf: Issued) -> None:
        cert = parse_certificate(leaf.der)

        assert cert.subject == "CN=api.example.test"
        assert cert.common_name == "api.example.test"
        assert cert.issuer == "O=Triage, CN=Triage Test Intermediate"
        assert cert.self_signed is False
        assert cert.not_before == BEFORE
        assert cert.not_after == AFTER
        assert cert.not_after.tzinfo is not None
        assert cert.dns_names == ("api.example.test", "*.api.example.test")
        assert cert.ip_addresses == ("192.0.2.10", "2001:db8::1")
        assert cert.sans == [
            "DNS:api.example.test",
            "DNS:*.api.example.test",
            "IP:192.0.2.10",
            "IP:2001:db8::1",
        ]
        assert (cert.key_type, cert.key_bits, cert.key_curve) == ("RSA", 2048, None)
        assert cert.key == "RSA, 2048 bits"
        # Signed by the intermediate's EC key with SHA-256.
        assert cert.signature_algorithm == "ECDSA with SHA256"
        assert cert.days_left(NOW) == 213

    def test_names_and_addresses_match_as_rfc_6125_says(self, leaf: Issued) -> None:
        cert = parse_certificate(leaf.der)

        assert cert.matches("api.example.test")
        assert cert.matches("API.Example.Test.")
        assert cert.matches("v2.api.example.test")
        assert not cert.matches("a.v2.api.example.test")
        assert not cert.matches("example.test")
        assert cert.matches("192.0.2.10")
        assert cert.matches("[2001:db8:0::1]")
        assert not cert.matches("192.0.2.11")

    def test_an_ec_certificate_signed_by_rsa(self, intermediate: Issued) -> None:
        cert = parse_certificate(intermediate.der)

        assert (cert.key_type, cert.key_bits, cert.key_curve) == ("EC", 384, "secp384r1")
        assert cert.key == "EC secp384r1, 384 bits"
        assert cert.signature_algorithm == "RSA with SHA384"
        assert cert.issuer == "O=Triage, CN=Triage Test Root"
        assert cert.dns_names == ()
        assert cert.ip_addresses == ()
        assert cert.sans == []

    def test_a_self_signed_ed25519_certificate(self) -> None:
        issued = _issue(
            _name("edge.test"), ed25519.Ed25519PrivateKey.generate(), dns=("edge.test",)
        )
        cert = parse_certificate(issued.der)

        assert cert.self_signed is True
        assert cert.subject == cert.issuer == "CN=edge.test"
        assert (cert.key_type, cert.key_bits, cert.key_curve) == ("Ed25519", 256, None)
        assert cert.signature_algorithm == "ED25519"

    def test_a_name_keeps_its_order_and_its_usual_keys(self) -> None:
        subject = _name(
            "shop.test",
            (NameOID.COUNTRY_NAME, "DE"),
            (NameOID.ORGANIZATION_NAME, "Shop GmbH"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops"),
            (NameOID.EMAIL_ADDRESS, "ops@shop.test"),
            (NameOID.SERIAL_NUMBER, "42"),
        )
        cert = parse_certificate(_issue(subject, ec.generate_private_key(ec.SECP256R1())).der)

        assert cert.subject == (
            "C=DE, O=Shop GmbH, OU=Ops, emailAddress=ops@shop.test, serialNumber=42, CN=shop.test"
        )
        assert cert.common_name == "shop.test"
        assert (cert.key_type, cert.key_bits, cert.key_curve) == ("EC", 256, "secp256r1")

    def test_an_expired_certificate(self) -> None:
        issued = _issue(
            _name("old.test"),
            ec.generate_private_key(ec.SECP256R1()),
            dns=("old.test",),
            not_before=datetime(2020, 1, 1, tzinfo=UTC),
            not_after=datetime(2020, 2, 1, tzinfo=UTC),
        )
        cert = parse_certificate(issued.der)

        assert cert.not_after == datetime(2020, 2, 1, tzinfo=UTC)
        assert cert.days_left(NOW) < 0
        finding = certificate_finding("old.test", 443, [issued.der], "TLSv1.3", now=NOW)
        assert finding.status is CheckStatus.FAIL
        # 1947 days and 12 hours: days left round down, to -1948.
        assert finding.summary == "old.test:443: certificate expired 1948 days ago (2020-02-01)"
        assert finding.facts["days_left"] == -1948
        assert finding.facts["not_after"] == "2020-02-01T00:00:00+00:00"
        assert finding.facts["self_signed"] is True


class TestChain:
    def test_a_chain_in_order(self, leaf: Issued, intermediate: Issued, root: Issued) -> None:
        chain = parse_chain([leaf.der, intermediate.der, root.der])

        assert chain.in_order
        assert chain.misplaced() == []
        assert chain.leaf.subject == "CN=api.example.test"
        assert [cert.subject for cert in chain.certificates] == [
            "CN=api.example.test",
            "O=Triage, CN=Triage Test Intermediate",
            "O=Triage, CN=Triage Test Root",
        ]
        assert chain.certificates[-1].self_signed

    def test_a_chain_out_of_order(self, leaf: Issued, intermediate: Issued, root: Issued) -> None:
        chain = parse_chain([leaf.der, root.der, intermediate.der])

        assert not chain.in_order
        # The leaf is not issued by the root, and the root not by the intermediate.
        assert chain.misplaced() == [0, 1]

    def test_a_chain_missing_its_intermediate(self, leaf: Issued, root: Issued) -> None:
        chain = parse_chain([leaf.der, root.der])

        assert not chain.in_order
        assert chain.misplaced() == [0]

    def test_one_certificate_is_a_chain_in_order(self, leaf: Issued) -> None:
        assert parse_chain([leaf.der]).in_order

    def test_the_finding_reports_the_order_without_judging_it(
        self, leaf: Issued, intermediate: Issued, root: Issued
    ) -> None:
        in_order = certificate_finding(
            "api.example.test", 443, [leaf.der, intermediate.der, root.der], "TLSv1.3", now=NOW
        )
        out_of_order = certificate_finding(
            "api.example.test", 443, [leaf.der, root.der, intermediate.der], "TLSv1.3", now=NOW
        )

        assert in_order.status is CheckStatus.PASS, in_order.summary
        assert in_order.facts["chain_length"] == 3
        assert in_order.facts["chain_in_order"] is True
        assert "chain:   3 certificates, in order (each issued by the next)" in in_order.evidence
        # Most clients reorder a chain, and a warning would read as "expires soon".
        assert out_of_order.status is CheckStatus.PASS, out_of_order.summary
        assert out_of_order.facts["chain_in_order"] is False
        assert out_of_order.evidence[5:] == (
            "chain:   3 certificates, out of order: 0 is issued by "
            "O=Triage, CN=Triage Test Intermediate, but 1 is O=Triage, CN=Triage Test Root",
            " 0 s:CN=api.example.test  i:O=Triage, CN=Triage Test Intermediate",
            " 1 s:O=Triage, CN=Triage Test Root  i:O=Triage, CN=Triage Test Root",
            " 2 s:O=Triage, CN=Triage Test Intermediate  i:O=Triage, CN=Triage Test Root",
        )

    def test_the_finding_on_the_leaf_alone(self, leaf: Issued) -> None:
        finding = certificate_finding("api.example.test", 443, [leaf.der], "TLSv1.2", now=NOW)

        assert finding.status is CheckStatus.PASS, finding.summary
        assert finding.summary == "api.example.test:443: valid for 213 more days, until 2026-01-01"
        assert finding.facts == {
            "host": "api.example.test",
            "port": 443,
            "subject": "CN=api.example.test",
            "issuer": "O=Triage, CN=Triage Test Intermediate",
            "not_before": "2025-01-01T00:00:00+00:00",
            "not_after": "2026-01-01T00:00:00+00:00",
            "days_left": 213,
            "hostname_matches": True,
            "sans": [
                "DNS:api.example.test",
                "DNS:*.api.example.test",
                "IP:192.0.2.10",
                "IP:2001:db8::1",
            ],
            "self_signed": False,
            "tls_version": "TLSv1.2",
            "key_type": "RSA",
            "key_bits": 2048,
            "key_curve": None,
            "signature_algorithm": "ECDSA with SHA256",
            "chain_length": 1,
            "chain_in_order": True,
        }
        assert finding.evidence == (
            "subject: CN=api.example.test",
            "issuer:  O=Triage, CN=Triage Test Intermediate",
            "valid:   2025-01-01 00:00 to 2026-01-01 00:00 UTC",
            "names:   DNS:api.example.test, DNS:*.api.example.test, IP:192.0.2.10, IP:2001:db8::1",
            "key:     RSA, 2048 bits; signature ECDSA with SHA256",
            "chain:   the server's certificate alone",
        )

    def test_a_chain_this_python_cannot_read_is_unknown(self, leaf: Issued) -> None:
        finding = certificate_finding(
            "api.example.test", 443, [leaf.der], "TLSv1.3", now=NOW, whole_chain=False
        )

        assert finding.facts["chain_length"] is None
        assert finding.facts["chain_in_order"] is None
        assert finding.evidence[-1] == (
            "chain:   unknown (this Python reads only the server's own certificate)"
        )


class TestMalformed:
    @pytest.mark.parametrize(
        ("cut", "wanted"),
        [
            (lambda der: b"", "no certificate: the bytes are empty"),
            (lambda der: b"not a certificate", "truncated or not a certificate (17 bytes): "),
            (lambda der: der[:10], "truncated or not a certificate (10 bytes): "),
            (lambda der: der[: len(der) // 2], "truncated or not a certificate ("),
            (lambda der: der[:-1], "truncated or not a certificate ("),
            (lambda der: der + b"\x00", "extra bytes after the certificate ("),
            (lambda der: b"\x04\x03abc", "not a DER X.509 certificate (5 bytes): "),
        ],
        ids=["empty", "garbage", "10-bytes", "half", "one-byte-short", "trailing", "octet-string"],
    )
    def test_bytes_that_are_not_a_certificate_say_what_is_wrong(
        self, leaf: Issued, cut: Callable[[bytes], bytes], wanted: str
    ) -> None:
        with pytest.raises(CertificateError) as raised:
            parse_certificate(cut(leaf.der))
        assert str(raised.value).startswith(wanted)

    def test_an_unreadable_certificate_is_a_check_error(self, leaf: Issued) -> None:
        finding = certificate_finding("api.example.test", 8443, [leaf.der[:200]], "TLSv1.3")

        assert finding.status is CheckStatus.ERROR
        assert finding.summary.startswith(
            "api.example.test:8443: the server's certificate could not be parsed: truncated or "
            "not a certificate (200 bytes): "
        )
        assert finding.facts["error"] == "tls"
        assert finding.facts["reason"].startswith("the server's certificate could not be parsed")
        assert finding.evidence[0].startswith(
            "certificate from api.example.test:8443 (200 bytes) -> truncated"
        )

    def test_garbage_from_the_server_is_a_check_error(self) -> None:
        finding = certificate_finding("10.0.0.5", 443, [b"\xff" * 64], None)

        assert finding.status is CheckStatus.ERROR
        assert finding.summary.startswith(
            "10.0.0.5:443: the server's certificate could not be parsed: "
            "not a DER X.509 certificate (64 bytes)"
        )

    def test_no_certificate_fails(self) -> None:
        finding = certificate_finding("api.example.test", 443, [], "TLSv1.3")

        assert finding.status is CheckStatus.FAIL
        assert finding.summary == "api.example.test:443: the server sent no certificate"

    def test_an_unreadable_intermediate_names_its_place(
        self, leaf: Issued, intermediate: Issued
    ) -> None:
        with pytest.raises(
            CertificateError, match=r"^certificate 2 of 2: truncated or not a certificate \("
        ):
            parse_chain([leaf.der, intermediate.der[:-5]])
        with pytest.raises(CertificateError, match=r"^no certificate: the chain is empty$"):
            parse_chain([])
        # The server's own certificate is still judged; the chain is reported unreadable.
        finding = certificate_finding(
            "api.example.test", 443, [leaf.der, intermediate.der[:-5]], "TLSv1.3", now=NOW
        )
        assert finding.status is CheckStatus.PASS, finding.summary
        assert finding.facts["chain_in_order"] is None
        assert finding.evidence[-1].startswith(
            "chain:   2 certificates, one unreadable: certificate 2 of 2: truncated or not a "
            "certificate ("
        )

    @settings(max_examples=200, deadline=None)
    @given(data=st.data())
    def test_any_damage_is_a_certificate_error_or_a_certificate(
        self, leaf: Issued, data: st.DataObject
    ) -> None:
        der = bytearray(leaf.der)
        for _ in range(data.draw(st.integers(1, 4), label="changes")):
            position = data.draw(st.integers(0, len(der) - 1), label="position")
            der[position] = data.draw(st.integers(0, 255), label="byte")
        end = data.draw(st.integers(0, len(der)), label="end")
        try:
            cert = parse_certificate(bytes(der[:end]))
        except CertificateError as error:
            assert str(error)
        else:
            assert cert.subject is not None

    @given(raw=st.binary(max_size=512))
    def test_random_bytes_are_a_certificate_error(self, raw: bytes) -> None:
        with pytest.raises(CertificateError):
            parse_certificate(raw)


@pytest.mark.integration
async def test_a_served_chain_is_read_as_sent(
    tmp_path: Path, leaf: Issued, intermediate: Issued, root: Issued
) -> None:
    """The check reads every certificate a TLS server sends, in the order it sends them."""
    local = _issue(
        _name("localhost"),
        ec.generate_private_key(ec.SECP256R1()),
        intermediate,
        dns=("localhost",),
        ips=("127.0.0.1",),
        not_before=datetime.now(UTC) - timedelta(days=1),
        not_after=datetime.now(UTC) + timedelta(days=90),
    )
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        local.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    orders = {"in-order": [local, intermediate, root], "out-of-order": [local, root, intermediate]}
    findings = {}
    for label, certificates in orders.items():
        cert_file = tmp_path / f"{label}.pem"
        cert_file.write_bytes(b"".join(_pem(issued.der) for issued in certificates))
        with serve_http(tls=Certificate(cert=cert_file, key=key_file)) as server:
            findings[label] = await run(provider_for(server.url()), "tls.certificate")

    for label, result in findings.items():
        assert result.status is CheckStatus.PASS, (label, result.summary)
        assert result.facts["chain_length"] == 3, label
        assert result.facts["subject"] == "CN=localhost"
        assert result.facts["key_type"] == "EC"
        assert result.facts["signature_algorithm"] == "ECDSA with SHA256"
    assert findings["in-order"].facts["chain_in_order"] is True
    assert findings["out-of-order"].facts["chain_in_order"] is False


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
