"""Faults the third set of held-out scenarios (`scenarios/heldout3_*`) needs and the other
helpers do not make, each undone after its scenario: a certificate served without the
intermediate that signed it, a broker whose disk alarm blocks its publishers, an LRU cache
evicting at its memory limit (as it should), the errors PostgreSQL really gives a client that
asks for a table or a database it does not have, and a NAT gateway deleted under a route.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.diagnosis.world import ScenarioEnv
from tests.servers.http import Certificate


def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a state (polling), or fail naming it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached in {timeout:.0f} s: {what}")
        time.sleep(0.1)


# -- HTTP -----------------------------------------------------------------------------------------

_INTERMEDIATE_EXT = """\
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
_LEAF_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.shop.example, DNS:shop.example, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def leaf_without_intermediate(directory: Path) -> tuple[Certificate, Path, Path]:
    """A root CA, an intermediate it signed, and a server certificate the intermediate signed
    (in date, for the storefront's names). Returns the server certificate as a server installed
    without its chain (the leaf alone in its file), the root a client trusts, and the
    intermediate the server should have sent."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for name in ("root", "intermediate", "leaf"):
        openssl(
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-out",
            f"{name}.key",
        )
    (directory / "intermediate.ext").write_text(_INTERMEDIATE_EXT)
    (directory / "leaf.ext").write_text(_LEAF_EXT)
    openssl(
        "req",
        "-new",
        "-x509",
        "-key",
        "root.key",
        "-subj",
        "/O=Shop Example Ltd/CN=Shop Example Root CA R1",
        "-days",
        "3650",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "root.pem",
    )
    for name, issuer, subject, days in (
        ("intermediate", "root", "/O=Shop Example Ltd/CN=Shop Example TLS Issuing CA 2", 1825),
        ("leaf", "intermediate", "/CN=www.shop.example", 90),
    ):
        openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            f"{issuer}.pem",
            "-CAkey",
            f"{issuer}.key",
            "-CAcreateserial",
            "-days",
            str(days),
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
        )
    return (
        Certificate(cert=directory / "leaf.pem", key=directory / "leaf.key"),
        directory / "root.pem",
        directory / "intermediate.pem",
    )


def handshake_error(port: int, trusted: Path, *, also: Path | None = None) -> str:
    """What a client that trusts `trusted` (and knows `also`, when given) gets from the TLS
    server on `port`: the verification error, or "" when the handshake succeeds."""
    import socket

    context = ssl.create_default_context(cafile=str(trusted))
    if also is not None:
        context.load_verify_locations(cafile=str(also))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
            context.wrap_socket(sock, server_hostname="127.0.0.1"),
        ):
            return ""
    except ssl.SSLCertVerificationError as error:
        return str(error.verify_message)


# -- RabbitMQ -------------------------------------------------------------------------------------


def disk_alarm(env: ScenarioEnv, *, publisher: str, queue: str) -> None:
    """The shared broker's disk alarm goes off (its free-disk limit raised above the disk's free
    space, as a disk filling up past the limit does): every publishing connection is blocked. A
    publisher's connection named `publisher` sends one message to `queue` and is blocked.
    After: the limit the broker runs with (50MB), the alarm cleared, the publisher closed."""
    broker = env.world.rabbitmq()
    connection: Any = None

    def raised(on: bool) -> bool:
        nodes = broker.api("GET", "/api/nodes").json()
        return bool(nodes) and all(bool(node.get("disk_free_alarm")) == on for node in nodes)

    def undo() -> None:
        broker.rabbitmqctl("set_disk_free_limit", "50MB")
        until(lambda: raised(False), 30, "disk alarm cleared")
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    env.later(undo)
    broker.rabbitmqctl("set_disk_free_limit", "100000GB")
    until(lambda: raised(True), 30, "disk alarm raised")
    import pika

    parameters = broker.connection_parameters()
    parameters.client_properties = {"connection_name": publisher}
    parameters.blocked_connection_timeout = None
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.basic_publish(exchange="", routing_key=queue, body=b'{"order_id": 118455}')
    connection.process_data_events(time_limit=0.5)

    def publisher_blocked() -> bool:
        for item in broker.api("GET", "/api/connections").json():
            if item.get("client_properties", {}).get("connection_name") == publisher:
                return str(item.get("state")) == "blocked"
        return False

    until(publisher_blocked, 30, f"{publisher}'s connection blocked")


# -- Redis ----------------------------------------------------------------------------------------


def cache_at_its_limit(server: Any, *, maxmemory: str, evicted: int) -> None:
    """`server` runs as a cache should (maxmemory, allkeys-lru) and has filled to its limit:
    it evicts the least recently used keys to take new ones (at least `evicted` so far), every
    write is accepted, and reads hit."""
    client = server.client()
    client.config_set("maxmemory-policy", "allkeys-lru")
    client.config_set("maxmemory", maxmemory)
    page = "<div class='product'>" + "x" * 1800 + "</div>"
    index = 0
    while int(client.info("stats")["evicted_keys"]) < evicted:
        with client.pipeline(transaction=False) as pipe:
            for _ in range(200):
                pipe.set(f"page:product:{index}", page, ex=6 * 3600)
                index += 1
            pipe.execute()
        if index > 200_000:
            raise AssertionError("redis never evicted a key")
    # The pages customers are looking at now stay (LRU evicts by sampling, so nearly all).
    recent = [f"page:product:{key}" for key in range(index - 200, index)]
    kept = sum(client.get(key) is not None for key in recent)
    if kept < 0.9 * len(recent):
        raise AssertionError(f"only {kept} of the {len(recent)} pages just cached are kept")
    client.set("page:product:probe", page, ex=60)  # a write still succeeds at the limit
    client.close()


# -- PostgreSQL -----------------------------------------------------------------------------------


def client_error(server: Any, sql: str, *, dbname: str = "shop") -> str:
    """The error an application's session (default search_path) gets running `sql`, as
    psycopg words it (`module.Class: message`)."""
    import psycopg

    with psycopg.connect(
        server.dsn_with_password(server.password, dbname=dbname), connect_timeout=5
    ) as conn:
        try:
            conn.execute(sql)
        except psycopg.Error as error:
            return f"{type(error).__module__}.{type(error).__name__}: {error}"
    raise AssertionError(f"{sql!r} succeeded")


def connect_error(server: Any, dbname: str) -> str:
    """The error a client connecting to database `dbname` of `server` gets."""
    import psycopg

    try:
        psycopg.connect(
            server.dsn_with_password(server.password, dbname=dbname), connect_timeout=5
        ).close()
    except psycopg.OperationalError as error:
        return f"psycopg.OperationalError: {error}".strip()
    raise AssertionError(f"database {dbname} exists")


# -- AWS ------------------------------------------------------------------------------------------


def nat_gateway_deleted(aws: Any, vpc_id: str) -> str:
    """The VPC's NAT gateway is deleted; the private route table's default route still names
    it and, as EC2 shows such a route, is a blackhole. Returns the gateway's id."""
    ec2 = aws.client("ec2")
    gateways = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "NatGateways"
    ]
    if len(gateways) != 1:
        raise AssertionError(f"{len(gateways)} NAT gateways in {vpc_id}")
    gateway = gateways[0]["NatGatewayId"]
    ec2.delete_nat_gateway(NatGatewayId=gateway)
    backend = aws.backend("ec2")
    blackholed = 0
    for table in backend.route_tables.values():
        for route in table.routes:
            if route.nat_gateway is not None and route.nat_gateway.id == gateway:
                route.__class__ = _blackhole_route(type(route))
                blackholed += 1
    if not blackholed:
        raise AssertionError(f"no route named {gateway}")
    state = ec2.describe_nat_gateways(NatGatewayIds=[gateway])["NatGateways"][0]["State"]
    if state != "deleted":
        raise AssertionError(f"NAT gateway {gateway} is {state}")
    return str(gateway)


def _blackhole_route(base: type) -> type:
    """A route whose target is gone: EC2 reports its state as `blackhole` (moto keeps
    "active")."""
    return type("BlackholeRoute", (base,), {"state": property(lambda self: "blackhole")})
