"""A small X.509 reader on the standard library: subject, issuer, validity, subjectAltName.

`parse_certificate` walks the DER encoding for the few fields the checks need; it verifies
nothing, so an expired or self-signed certificate can still be described.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from providers.contract import utc_now

_NAME_OIDS = {
    "2.5.4.3": "CN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "DC",
}
_SAN_OID = "2.5.29.17"


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

    @property
    def sans(self) -> list[str]:
        return [f"DNS:{name}" for name in self.dns_names] + [
            f"IP:{address}" for address in self.ip_addresses
        ]

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


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at `pos`."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not used in certificates")
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    pos = start
    while pos < end:
        element = _tlv(data, pos)
        found.append(element)
        pos = element[2]
    return found


def _oid(raw: bytes) -> str:
    values: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    if not values:
        raise ValueError("empty OID")
    first = min(values[0] // 40, 2)
    return ".".join(str(part) for part in (first, values[0] - 40 * first, *values[1:]))


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", errors="replace")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", errors="replace")
    if tag == 0x14:  # T61String, in practice Latin-1
        return raw.decode("latin-1")
    return raw.decode("utf-8", errors="replace")


def _name(data: bytes, start: int, end: int) -> tuple[str, str]:
    """(`CN=..., O=...` in certificate order, the common name) of an X.501 Name."""
    parts: list[str] = []
    common_name = ""
    for _, set_start, set_end in _children(data, start, end):
        for _, seq_start, seq_end in _children(data, set_start, set_end):
            (_, oid_start, oid_end), (tag, value_start, value_end) = _children(
                data, seq_start, seq_end
            )[:2]
            oid = _oid(data[oid_start:oid_end])
            value = _string(tag, data[value_start:value_end])
            key = _NAME_OIDS.get(oid, oid)
            if key == "CN" and not common_name:
                common_name = value
            parts.append(f"{key}={value}")
    return ", ".join(parts), common_name


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii").rstrip("Z")
    text = text.split(".")[0]
    if tag == 0x17:  # UTCTime: YYMMDDHHMM[SS]
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    if len(text) == 12:
        text += "00"
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def parse_certificate(der: bytes) -> Certificate:
    """Subject, issuer, validity and subjectAltName of a DER certificate."""
    _, cert_start, cert_end = _tlv(der, 0)
    _, tbs_start, tbs_end = _children(der, cert_start, cert_end)[0]
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("not an X.509 certificate")
    issuer_field, validity_field, subject_field = fields[2], fields[3], fields[4]
    issuer, _ = _name(der, issuer_field[1], issuer_field[2])
    subject, common_name = _name(der, subject_field[1], subject_field[2])
    (before_tag, before_start, before_end), (after_tag, after_start, after_end) = _children(
        der, validity_field[1], validity_field[2]
    )
    dns_names: list[str] = []
    ip_addresses: list[str] = []
    for tag, start, _ in fields[6:]:
        if tag != 0xA3:  # [3] extensions
            continue
        (_, list_start, list_end) = _tlv(der, start)
        for _, ext_start, ext_end in _children(der, list_start, list_end):
            parts = _children(der, ext_start, ext_end)
            if _oid(der[parts[0][1] : parts[0][2]]) != _SAN_OID:
                continue
            _, value_start, _ = parts[-1]  # OCTET STRING holding GeneralNames
            _, names_start, names_end = _tlv(der, value_start)
            for name_tag, name_start, name_end in _children(der, names_start, names_end):
                raw = der[name_start:name_end]
                if name_tag == 0x82:  # dNSName
                    dns_names.append(raw.decode("ascii", errors="replace"))
                elif name_tag == 0x87 and len(raw) in (4, 16):  # iPAddress
                    ip_addresses.append(str(ipaddress.ip_address(raw)))
    issuer_raw = der[issuer_field[1] : issuer_field[2]]
    subject_raw = der[subject_field[1] : subject_field[2]]
    return Certificate(
        subject=subject,
        issuer=issuer,
        not_before=_time(before_tag, der[before_start:before_end]),
        not_after=_time(after_tag, der[after_start:after_end]),
        dns_names=tuple(dns_names),
        ip_addresses=tuple(ip_addresses),
        self_signed=issuer_raw == subject_raw,
        common_name=common_name,
    )
