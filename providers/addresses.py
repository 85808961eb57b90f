"""Where a service connects to, read from its configuration: host:port, nothing else.

A container's or a pod's environment says what it depends on (`DATABASE_URL=postgresql://...`,
`REDIS_HOST=cache` with `REDIS_PORT=6379`, `AMQP_URL=amqp://...`). Diagnosis uses these addresses
to tie a failing service to the target it cannot reach. Only `host:port` is kept: a value's user,
password, path and query are never kept, shown or logged.

Parsed here with `urllib.parse` for URLs; what is ours is the reading of `*_HOST`/`*_PORT`
pairs and libpq keyword strings, which no library reads from an environment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

DEFAULT_PORTS = {
    "redis": 6379,
    "rediss": 6380,
    "postgres": 5432,
    "postgresql": 5432,
    "amqp": 5672,
    "amqps": 5671,
    "http": 80,
    "https": 443,
    "mysql": 3306,
    "mongodb": 27017,
    "nats": 4222,
    "mqtt": 1883,
}
# Environment names whose host and port default by what they name.
_NAMED_PORTS = (
    ("REDIS", 6379),
    ("PG", 5432),
    ("POSTGRES", 5432),
    ("DATABASE", 5432),
    ("DB", 5432),
    ("RABBIT", 5672),
    ("AMQP", 5672),
    ("MQ", 5672),
)
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://([^\s/?#'\"]+)", re.I)
_KEYWORD = re.compile(r"\b(host|port)\s*=\s*'?([^\s']+)", re.I)
_HOST_PORT = re.compile(r"^\[?([A-Za-z0-9_.:-]+?)\]?:(\d{1,5})$")
_PORT_NUMBER = re.compile(r"-?[0-9]+")  # ASCII digits, as urllib wants them (`int` takes `+5`)
_NETLOC_END = re.compile(r"[/?#]")
LOOPBACK = "127.0.0.1"


def normal_host(host: str) -> str:
    """The host as an index keys it: lower case; every loopback name is 127.0.0.1."""
    host = host.strip("[]").lower().rstrip(".")
    if host in ("localhost", "0.0.0.0", "::", "ip6-localhost"):
        return LOOPBACK
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # a name, not an address: kept as written
        return host
    return LOOPBACK if ip.is_loopback else host


def address(host: str, port: int | str) -> str:
    return f"{normal_host(host)}:{int(port)}"


PORT_RANGE = (1, 65535)
# Longer than a port can be written: the text is not echoed (it may be a password typed where
# a port goes, `redis://:hunter2-long`).
_SHOWN_PORT_CHARS = 5


def port_problem(text: str) -> str | None:
    """Why `text` cannot be a port to connect to (`port 99999 is out of range 1-65535`), or
    None. urllib's `.port` raises ValueError for these, and a driver given one fails far
    from the inventory line that holds it."""
    text = text.strip()
    low, high = PORT_RANGE
    if _PORT_NUMBER.fullmatch(text):
        if low <= int(text) <= high:
            return None
        return f"port {text} is out of range {low}-{high}"
    if len(text) <= _SHOWN_PORT_CHARS:
        return f"port {text!r} is not a number"
    return "the port is not a number"


def url_port_problem(value: str) -> str | None:
    """Why the port a URL or a libpq keyword string names is not a port, or None (no port
    written is not a problem: the kind's default port is used)."""
    value = value.strip()
    if "://" not in value:  # `host=db port=5432 dbname=app`
        ports = [port for key, port in _KEYWORD.findall(value) if key.lower() == "port"]
    else:
        where = value.split("://", 1)[1]
        where = _NETLOC_END.split(where, maxsplit=1)[0].rpartition("@")[2]
        # libpq takes several hosts, each with its port: `h1:5432,h2:5433`.
        ports = [_written_port(host) for host in where.split(",")]
    for port in ports:
        for each in port.split(",") if port else ():
            if (problem := port_problem(each)) is not None:
                return problem
    return None


def _written_port(host: str) -> str:
    """What is written after a host's colon (`[::1]:6379` -> `6379`); "" when nothing is."""
    if host.startswith("["):
        return host.partition("]")[2].removeprefix(":")
    return host.partition(":")[2]


def url_address(value: str) -> str | None:
    """host:port of a URL (`redis://:pw@cache:6380/0` -> `cache:6380`), or None."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    port = port or DEFAULT_PORTS.get(parts.scheme.lower().split("+")[0])
    return address(parts.hostname, port) if port else None


def _default_port(name: str) -> int | None:
    upper = name.upper()
    return next((port for word, port in _NAMED_PORTS if word in upper), None)


def addresses_in(environment: Mapping[str, str]) -> tuple[str, ...]:
    """Every host:port an environment names, sorted; credentials and paths dropped."""
    found: set[str] = set()
    hosts: dict[str, str] = {}
    ports: dict[str, str] = {}
    for name, value in environment.items():
        value = str(value)
        for match in _URL.finditer(value):
            if (where := url_address(match.group(0))) is not None:
                found.add(where)
        keywords = dict((k.lower(), v) for k, v in _KEYWORD.findall(value))
        if "host" in keywords and not value.strip().startswith(("http", "redis", "amqp")):
            port = keywords.get("port") or _default_port(name) or DEFAULT_PORTS["postgres"]
            if str(port).isdigit():
                found.add(address(keywords["host"], port))
        upper = name.upper()
        if upper in ("PGHOST", "PGPORT"):  # libpq's own names
            upper = f"PG_{upper[2:]}"
        for suffix in ("_HOST", "_HOSTNAME", "_ADDR", "_ADDRESS", "_SERVER"):
            if upper.endswith(suffix):
                hosts[upper[: -len(suffix)]] = value.strip()
        if upper.endswith("_PORT") and value.strip().isdigit():
            ports[upper[: -len("_PORT")]] = value.strip()
    for prefix, host in hosts.items():
        if not host or "://" in host:
            continue
        pair = _HOST_PORT.match(host)
        if pair:
            found.add(address(pair.group(1), pair.group(2)))
        elif re.fullmatch(r"[A-Za-z0-9_.-]+", host):
            port = ports.get(prefix) or _default_port(prefix)
            if port:
                found.add(address(host, port))
    return tuple(sorted(found))


def addresses_in_text(text: str) -> tuple[str, ...]:
    """host:port pairs an error or log line names (`connect ECONNREFUSED 127.0.0.1:6380`,
    `Redis connection to cache:6379 failed`, a URL), sorted."""
    found = {where for match in _URL.finditer(text) if (where := url_address(match.group(0)))}
    for match in re.finditer(
        r"(?<![\w.:/-])(\[[0-9a-fA-F:]+\]|[A-Za-z0-9][A-Za-z0-9_.-]*):(\d{2,5})(?!\d|:\d)", text
    ):
        host = match.group(1)
        if re.fullmatch(r"\d{1,2}", host):  # a time of day, 14:05
            continue
        found.add(address(host, match.group(2)))
    return tuple(sorted(found))


def merged(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    return tuple(sorted({item for group in groups for item in group}))
