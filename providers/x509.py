"""What the TLS checks read in a server's certificates: names, validity, key, signature, chain.

`parse_certificate` describes one DER certificate (subject, issuer, validity, the DNS names
and addresses of its subjectAltName, its key and signature algorithm); `parse_chain` describes
the certificates a server sent, in the order it sent them, and whether each is issued by the
next. Parsing is done by the `cryptography` library (`cryptography.x509`); nothing here reads
DER by hand. Nothing is verified either, so an expired or self-signed certificate can still
be described.

Certificates come from the network: bytes that are not a certificate raise `CertificateError`,
whose message says what is wrong, and never another exception.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID, PublicKeyAlgorithmOID, SignatureAlgorithmOID

from providers.contract import utc_now

# Names as the checks have always shown them; cryptography's RFC 4514 names cover the rest.
_NAME_KEYS = {NameOID.SERIAL_NUMBER: "serialNumber", NameOID.EMAIL_ADDRESS: "emailAddress"}

# "RSA_WITH_SHA256" -> "RSA with SHA256": cryptography's own names for the algorithms it knows.
_SIGNATURE_NAMES = {
    oid: name.replace("_WITH_", " with ").replace("_", "-")
    for name, oid in vars(SignatureAlgorithmOID).items()
    if isinstance(oid, x509.ObjectIdentifier)
}
_KEY_NAMES = {
    oid: name.replace("_", "-")
    for name, oid in vars(PublicKeyAlgorithmOID).items()
    if isinstance(oid, x509.ObjectIdentifier)
}

# What cryptography raises for bytes it cannot read as a certificate, when loading them or
# when a field is first read (names, extensions and keys are decoded lazily; a name attribute
# of the wrong ASN.1 type is a TypeError).
_UNREADABLE = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.InvalidVersion,
    x509.UnsupportedGeneralNameType,
)


class CertificateError(ValueError):
    """Bytes that are not a readable X.509 certificate; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """What the checks need of an X.509 certificate."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    self_signed: bool = False
    common_name: str = ""
    key_type: str = ""
    """`RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or the name of an algorithm not known here."""
    key_bits: int | None = None
    key_curve: str | None = None
    """The named curve of an EC key (`secp256r1`), None for other keys."""
    signature_algorithm: str = ""
    """How the issuer signed it: `RSA with SHA256`, `ECDSA with SHA384`, `ED25519`..."""
    # The names themselves, compared to tell who issued whom (equal attributes, any encoding).
    subject_name: x509.Name = field(default_factory=lambda: x509.Name([]), repr=False)
    issuer_name: x509.Name = field(default_factory=lambda: x509.Name([]), repr=False)

    @property
    def sans(self) -> list[str]:
        return [f"DNS:{name}" for name in self.dns_names] + [
            f"IP:{address}" for address in self.ip_addresses
        ]

    @property
    def key(self) -> str:
        """The key as an operator reads it: `EC secp256r1, 256 bits`, `RSA, 2048 bits`."""
        kind = f"{self.key_type} {self.key_curve}" if self.key_curve else self.key_type
        return f"{kind}, {self.key_bits} bits" if self.key_bits else kind

    def days_left(self, now: datetime | None = None) -> int:
        """Whole days until expiry, rounded down: negative once expired."""
        seconds = (self.not_after - (now or utc_now())).total_seconds()
        return math.floor(seconds / 86400)

    def matches(self, host: str) -> bool:
        """Whether `host` is one the certificate names in its subjectAltName (RFC 6125)."""
        with contextlib.suppress(ValueError):  # a name, not an address: match DNS names below
            address = ipaddress.ip_address(host.strip("[]"))
            return any(ipaddress.ip_address(ip) == address for ip in self.ip_addresses)
        wanted = host.lower().rstrip(".")
        for name in self.dns_names:
            name = name.lower().rstrip(".")
            if name == wanted:
                return True
            if name.startswith("*."):
                label, _, rest = wanted.partition(".")
                if label and rest == name[2:]:
                    return True
        return False

    def issued_by(self, other: Certificate) -> bool:
        """Whether this certificate names `other`'s subject as its issuer."""
        return self.issuer_name == other.subject_name


@dataclass(frozen=True, slots=True)
class Chain:
    """The certificates a server sent, in the order it sent them: its own first."""

    certificates: tuple[Certificate, ...]

    @property
    def leaf(self) -> Certificate:
        return self.certificates[0]

    @property
    def in_order(self) -> bool:
        """Whether each certificate is issued by the next one, as TLS asks servers to send them."""
        return not self.misplaced()

    def misplaced(self) -> list[int]:
        """Positions (from 0) of the certificates whose issuer is not the next one."""
        return [
            position
            for position, (certificate, following) in enumerate(pairwise(self.certificates))
            if not certificate.issued_by(following)
        ]


def parse_certificate(der: bytes) -> Certificate:
    """Subject, issuer, validity, subjectAltName, key and signature of a DER certificate.

    Raises CertificateError when `der` is not a readable X.509 certificate.
    """
    if not der:
        raise CertificateError("no certificate: the bytes are empty")
    try:
        cert = x509.load_der_x509_certificate(der)
    except _UNREADABLE as error:
        raise CertificateError(_unreadable(der, error)) from error
    try:
        return _describe(cert)
    except _UNREADABLE as error:
        reason = str(error) or type(error).__name__
        raise CertificateError(f"a field cannot be read ({len(der)} bytes): {reason}") from error


def parse_chain(ders: Sequence[bytes]) -> Chain:
    """The certificates of a chain, leaf first, as the server sent them.

    Raises CertificateError naming the first certificate that is unreadable (`1 of 3`).
    """
    if not ders:
        raise CertificateError("no certificate: the chain is empty")
    certificates: list[Certificate] = []
    for position, der in enumerate(ders, start=1):
        try:
            certificates.append(parse_certificate(der))
        except CertificateError as error:
            raise CertificateError(f"certificate {position} of {len(ders)}: {error}") from error
    return Chain(tuple(certificates))


def _describe(cert: x509.Certificate) -> Certificate:
    subject, issuer = cert.subject, cert.issuer
    try:
        alt_names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        dns_names: list[str] = []
        addresses: list[str] = []
    else:
        dns_names = alt_names.get_values_for_type(x509.DNSName)
        addresses = [str(address) for address in alt_names.get_values_for_type(x509.IPAddress)]
    common_names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    key_type, key_bits, key_curve = _key(cert)
    return Certificate(
        subject=_name(subject),
        issuer=_name(issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        dns_names=tuple(dns_names),
        ip_addresses=tuple(addresses),
        self_signed=subject == issuer,
        common_name=_text(common_names[0].value) if common_names else "",
        key_type=key_type,
        key_bits=key_bits,
        key_curve=key_curve,
        signature_algorithm=_signature(cert),
        subject_name=subject,
        issuer_name=issuer,
    )


def _name(name: x509.Name) -> str:
    """`CN=..., O=...` in certificate order, as `openssl x509 -subject` lists it."""
    return ", ".join(
        f"{_NAME_KEYS.get(attribute.oid, attribute.rfc4514_attribute_name)}="
        f"{_text(attribute.value)}"
        for attribute in name
    )


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.hex(":")  # a BIT STRING attribute


def _key(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    """(type, bits, EC curve) of the certificate's public key."""
    try:
        key = cert.public_key()
    except UnsupportedAlgorithm:  # a key cryptography cannot load is still a certificate
        oid = cert.public_key_algorithm_oid
        return _KEY_NAMES.get(oid, oid.dotted_string), None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    oid = cert.public_key_algorithm_oid
    return _KEY_NAMES.get(oid, oid.dotted_string), None, None


def _signature(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    name = _SIGNATURE_NAMES.get(oid, oid.dotted_string)
    if oid == SignatureAlgorithmOID.RSASSA_PSS:  # the hash is in the parameters
        with contextlib.suppress(UnsupportedAlgorithm):
            algorithm = cert.signature_hash_algorithm
            if algorithm is not None:
                name = f"{name} with {algorithm.name.upper()}"
    return name


def _unreadable(der: bytes, error: Exception) -> str:
    """What is wrong with `der`, in words, then as cryptography put it."""
    reason = str(error) or type(error).__name__
    if "ShortData" in reason:  # its encoding promises more bytes than there are
        what = "truncated or not a certificate"
    elif "ExtraData" in reason:
        what = "extra bytes after the certificate"
    elif isinstance(error, x509.InvalidVersion):
        what = "not an X.509 v1, v2 or v3 certificate"
    else:
        what = "not a DER X.509 certificate"
    return f"{what} ({len(der)} bytes): {reason}"
