"""A private RabbitMQ node on free loopback ports, with faults the tests inject.

The node is started with the broker's own script, /usr/lib/rabbitmq/bin/rabbitmq-server (the
/usr/sbin wrapper switches to the rabbitmq user and to the system node's directories), with its
own node name, ports, HOME (hence its own Erlang cookie), mnesia, log, config and
enabled-plugins files. Only epmd is shared with the system node. rabbitmqctl is run with the
same environment, so it talks to this node and no other.

A node takes several seconds to boot, so the fixtures start one per test session; tests isolate
themselves with their own vhosts and queue names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pika
import pika.exceptions

from .process import (
    ServerStartError,
    claim_dir,
    die_with_test_process,
    log_tail,
    port_open,
    reap_stale_dirs,
    require_binary,
    spawn,
    wait_until,
)
from .rabbitmq_helpers import (
    distinct_free_ports,
    group_alive,
    node_env,
    quote_segment,
    write_node_files,
)

RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"
DEFAULT_USER = "triage"
DEFAULT_PASSWORD = "triage-mq-secret"


@dataclass
class RabbitMQServer:
    host: str
    amqp_port: int
    management_port: int
    dist_port: int
    nodename: str
    workdir: Path
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    process: subprocess.Popen[bytes] | None = None
    _log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self._log_path = self.workdir / "rabbitmq-server.log"

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.amqp_port

    @property
    def address(self) -> str:
        return f"{self.host}:{self.amqp_port}"

    @property
    def amqp_url(self) -> str:
        return self.amqp_url_for()

    def amqp_url_for(
        self, vhost: str = "/", *, user: str | None = None, password: str | None = None
    ) -> str:
        """An amqp:// URL for any vhost or credentials (a missing vhost or a wrong password)."""
        quoted = urllib.parse.quote(vhost, safe="")
        user = urllib.parse.quote(user or self.user, safe="")
        password = urllib.parse.quote(self.password if password is None else password, safe="")
        return f"amqp://{user}:{password}@{self.host}:{self.amqp_port}/{quoted}"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.management_port}"

    @property
    def log_path(self) -> Path:
        return self._log_path

    # -- environment ---------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.workdir / "home"

    def env(self) -> dict[str, str]:
        """The environment that makes rabbitmq-server and rabbitmqctl mean *this* node."""
        return node_env(self)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        server = require_binary("rabbitmq-server", f"{RABBITMQ_BIN}/rabbitmq-server")
        write_node_files(self)
        env = self.env()
        # With RABBITMQ_ALLOW_INPUT the script execs the Erlang VM instead of waiting on it
        # in a shell, so our child *is* beam and dies with pytest (die_with_test_process);
        # -noinput keeps the VM off stdin all the same, +B i makes it ignore SIGINT.
        env.update(RABBITMQ_ALLOW_INPUT="true", RABBITMQ_SERVER_START_ARGS="-noinput +B i")
        self.process = spawn(
            [server],
            self._log_path,
            env=env,
            cwd=self.workdir,
            # Own process group: beam and its helpers (erl_child_setup, inet_gethost) can be
            # signalled as one, and a Ctrl-C at the terminal does not reach them.
            start_new_session=True,
            preexec_fn=die_with_test_process,
        )
        try:
            wait_until(
                self._answers,
                timeout=timeout,
                what=f"rabbitmq {self.nodename} on {self.address}",
                log_path=self._log_path,
                process=self.process,
            )
        except ServerStartError as exc:
            self.stop()
            raise ServerStartError(f"{exc}\n{self.node_log()}") from None
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30) -> None:
        """``rabbitmqctl stop`` for this node; signals if it does not go; no beam survives."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self.rabbitmqctl("stop", timeout=timeout)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._signal_group(process, signal.SIGKILL)
                    process.wait(timeout=10)
        # The script may be gone while beam (same process group) lingers: make sure it is not.
        deadline = time.monotonic() + 10
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if group_alive(process.pid):
            self._signal_group(process, signal.SIGKILL)

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _answers(self) -> bool:
        if not port_open(self.host, self.amqp_port) or not port_open(
            self.host, self.management_port
        ):
            return False
        try:
            connection = pika.BlockingConnection(self.connection_parameters())
            connection.close()
            response = httpx.get(
                f"{self.management_url}/api/overview",
                auth=(self.user, self.password),
                timeout=2,
            )
        except (pika.exceptions.AMQPError, httpx.HTTPError, OSError):
            return False
        return response.status_code == 200

    def node_log(self) -> str:
        logs = sorted((self.workdir / "log").glob("*.log"))
        return "\n".join(f"--- {path.name}\n{log_tail(path)}" for path in logs)

    # -- clients -------------------------------------------------------------------------------

    def rabbitmqctl(
        self, *args: str, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run rabbitmqctl against this node (its name, cookie and HOME)."""
        ctl = require_binary("rabbitmqctl", f"{RABBITMQ_BIN}/rabbitmqctl")
        result = subprocess.run(
            [ctl, "-n", self.nodename, *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def connection_parameters(
        self, vhost: str = "/", *, user: str | None = None, password: str | None = None
    ) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(
            host=self.host,
            port=self.amqp_port,
            virtual_host=vhost,
            credentials=pika.PlainCredentials(
                user or self.user, self.password if password is None else password
            ),
            connection_attempts=1,
            socket_timeout=5,
            blocked_connection_timeout=10,
        )

    def connect(self, vhost: str = "/", **kwargs: Any) -> pika.BlockingConnection:
        """A pika BlockingConnection to ``vhost`` (close it, or use it as a context manager)."""
        return pika.BlockingConnection(self.connection_parameters(vhost, **kwargs))

    def management(self) -> httpx.Client:
        """An httpx client on the management API, authenticated as the admin user."""
        return httpx.Client(
            base_url=self.management_url, auth=(self.user, self.password), timeout=10
        )

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One management API call, e.g. ``api("GET", "/api/queues/%2F/jobs")``."""
        with self.management() as client:
            return client.request(method, path, **kwargs)

    # -- vhosts, queues and backlogs -----------------------------------------------------------

    def create_vhost(self, name: str) -> None:
        """Create a vhost and give the admin user full permissions on it."""
        vhost = quote_segment(name)
        with self.management() as client:
            client.put(f"/api/vhosts/{vhost}").raise_for_status()
            client.put(
                f"/api/permissions/{vhost}/{quote_segment(self.user)}",
                json={"configure": ".*", "write": ".*", "read": ".*"},
            ).raise_for_status()

    def delete_vhost(self, name: str) -> None:
        response = self.api("DELETE", f"/api/vhosts/{quote_segment(name)}")
        if response.status_code != 404:
            response.raise_for_status()

    def declare_queue(self, queue: str, vhost: str = "/", *, durable: bool = True) -> None:
        with contextlib.closing(self.connect(vhost)) as connection:
            connection.channel().queue_declare(queue=queue, durable=durable)

    def publish(
        self,
        queue: str,
        count: int,
        *,
        vhost: str = "/",
        body: bytes = b"{}",
        durable: bool = True,
        timeout: float = 60,
    ) -> None:
        """Declare ``queue`` and put ``count`` messages in it; returns once all are enqueued.

        A backlog of 10,000 messages takes about a second: no publisher confirms, then wait
        until the broker reports the depth (passive declare) reaching what was sent.
        """
        with contextlib.closing(self.connect(vhost)) as connection:
            channel = connection.channel()
            before = channel.queue_declare(queue=queue, durable=durable).method.message_count
            properties = pika.BasicProperties(delivery_mode=2 if durable else 1)
            for _ in range(count):
                channel.basic_publish(
                    exchange="", routing_key=queue, body=body, properties=properties
                )
            expected = before + count
            deadline = time.monotonic() + timeout
            while True:
                depth = channel.queue_declare(queue=queue, passive=True).method.message_count
                if depth >= expected:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"queue {queue!r} holds {depth} messages, expected {expected}"
                    )
                connection.sleep(0.05)

    def queue_depth(self, queue: str, vhost: str = "/") -> int:
        """Messages ready in ``queue`` now, by a passive declare over AMQP (no stats delay)."""
        with contextlib.closing(self.connect(vhost)) as connection:
            method = connection.channel().queue_declare(queue=queue, passive=True).method
            return int(method.message_count)

    def management_queue(self, queue: str, vhost: str = "/") -> dict[str, Any]:
        """The management API's JSON for one queue (its stats lag by up to a second)."""
        path = f"/api/queues/{quote_segment(vhost)}/{quote_segment(queue)}"
        response = self.api("GET", path)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_for_management_depth(
        self, queue: str, expected: int, vhost: str = "/", timeout: float = 15
    ) -> int:
        """Poll the management API until it reports ``expected`` messages; returns the depth."""
        deadline = time.monotonic() + timeout
        depth = -1
        while time.monotonic() < deadline:
            depth = int(self.management_queue(queue, vhost).get("messages", -1))
            if depth == expected:
                return depth
            time.sleep(0.2)
        raise AssertionError(
            f"management API reports {depth} messages in {queue!r}, expected {expected}"
        )

    def purge(self, queue: str, vhost: str = "/") -> None:
        with contextlib.closing(self.connect(vhost)) as connection:
            connection.channel().queue_purge(queue=queue)

    def delete_queue(self, queue: str, vhost: str = "/") -> None:
        with contextlib.closing(self.connect(vhost)) as connection:
            connection.channel().queue_delete(queue=queue)


@contextlib.contextmanager
def start_rabbitmq(host: str = "127.0.0.1") -> Iterator[RabbitMQServer]:
    """Start a private RabbitMQ node with the management plugin; always stopped and removed.

    Its files live in a fresh directory under /tmp: the Erlang distribution's unix paths and
    the node's many files are best kept short and away from pytest's tmp dirs.
    """
    reap_stale_dirs("triage-mq-")
    workdir = Path(tempfile.mkdtemp(prefix="triage-mq-", dir="/tmp"))
    claim_dir(workdir)
    ports = distinct_free_ports(host, 3)
    server = RabbitMQServer(
        host=host,
        amqp_port=ports[0],
        management_port=ports[1],
        dist_port=ports[2],
        nodename=f"triage-test-{os.getpid()}-{workdir.name[-6:]}@localhost",
        workdir=workdir,
    )
    try:
        server.start()
        yield server
    finally:
        server.remove()
