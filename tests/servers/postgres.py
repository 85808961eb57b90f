"""A private PostgreSQL server on a free loopback port, with faults the tests inject.

initdb and postgres refuse to run as root, so both run as the ``postgres`` OS user, in a
directory of our own under /tmp that this user owns (pytest's tmp dirs are root-only). The
cluster is made once per session by initdb (a *template*) and copied for each instance, so a
per-test server costs a copy and a start, not an initdb.

Auth: ``trust`` over the private unix socket (only root and postgres can reach it), and
``scram-sha-256`` over TCP with a known superuser password, so a wrong password is refused as
it would be in production.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from .process import (
    ServerStartError,
    claim_dir,
    die_with_test_process,
    free_port,
    log_tail,
    port_open,
    reap_stale_dirs,
    require_binary,
    spawn,
    stop_process,
    wait_until,
)

PG_OS_USER = "postgres"
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "triage-pg-secret"
DEFAULT_DBNAME = "postgres"


def postgres_bindir() -> Path:
    """The directory with initdb/postgres: newest /usr/lib/postgresql/*/bin, else pg_config."""

    def major(initdb: str) -> int:
        version = Path(initdb).parent.parent.name
        return int(version) if version.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir and (Path(bindir) / "initdb").is_file():
            return Path(bindir)
    return Path(require_binary("initdb")).parent


def _os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_OS_USER)
    except KeyError as exc:
        raise ServerStartError(
            f"no `{PG_OS_USER}` OS user; run tests/system-deps.sh to install postgresql"
        ) from exc


def _make_owned_dir(prefix: str) -> Path:
    """A fresh directory under /tmp owned by the postgres OS user, mode 0700."""
    account = _os_user()
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    claim_dir(path)
    os.chown(path, account.pw_uid, account.pw_gid)
    path.chmod(0o700)
    return path


def _as_postgres() -> dict[str, Any]:
    """Popen arguments that run a command as the postgres OS user (root can switch freely)."""
    account = _os_user()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": account.pw_dir,
        "USER": PG_OS_USER,
        "LOGNAME": PG_OS_USER,
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
    }
    kwargs: dict[str, Any] = {"env": env}
    if os.geteuid() == 0:
        kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
    return kwargs


@dataclass
class PostgresTemplate:
    """An initdb'd cluster that instances copy (initdb is the slow part of a start)."""

    root: Path

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @classmethod
    def create(cls) -> PostgresTemplate:
        bindir = postgres_bindir()
        reap_stale_dirs("triage-pg-")
        root = _make_owned_dir("triage-pg-template-")
        try:
            pwfile = root / "pwfile"
            pwfile.write_text(SUPERUSER_PASSWORD + "\n")
            account = _os_user()
            os.chown(pwfile, account.pw_uid, account.pw_gid)
            pwfile.chmod(0o600)
            result = subprocess.run(
                [
                    str(bindir / "initdb"),
                    "--pgdata", str(root / "data"),
                    "--username", SUPERUSER,
                    "--pwfile", str(pwfile),
                    "--auth-local", "trust",
                    "--auth-host", "scram-sha-256",
                    "--encoding", "UTF8",
                    "--locale", "C.UTF-8",
                    "--no-sync",
                ],
                capture_output=True,
                text=True,
                cwd=root,
                check=False,
                timeout=120,
                **_as_postgres(),
            )  # fmt: skip
            pwfile.unlink()
            if result.returncode != 0:
                raise ServerStartError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(root=root)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PostgresServer:
    """One private postgres. ``stop()``/``start()`` inject an outage; data survives them."""

    host: str
    port: int
    root: Path
    max_connections: int = 20
    settings: dict[str, str] = field(default_factory=dict)
    user: str = SUPERUSER
    password: str = SUPERUSER_PASSWORD
    dbname: str = DEFAULT_DBNAME
    process: subprocess.Popen[bytes] | None = None
    held: list[psycopg.Connection[Any]] = field(default_factory=list)

    # -- addresses -----------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def dsn(self) -> str:
        return self.dsn_with_password(self.password)

    @property
    def dsn_without_password(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def dsn_with_password(self, password: str, *, dbname: str | None = None) -> str:
        """A TCP DSN with any password (a wrong one to inject an authentication failure)."""
        return (
            f"postgresql://{self.user}:{password}@{self.host}:{self.port}/{dbname or self.dbname}"
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        bindir = postgres_bindir()
        self.socket_dir.mkdir(exist_ok=True)
        account = _os_user()
        os.chown(self.socket_dir, account.pw_uid, account.pw_gid)
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": str(self.max_connections),
            "superuser_reserved_connections": "0",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "16MB",
            "logging_collector": "off",
            "log_min_messages": "warning",
            **self.settings,
        }
        args = [str(bindir / "postgres"), "-D", str(self.datadir)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        self.process = spawn(
            args,
            self.log_path,
            cwd=self.root,
            preexec_fn=die_with_test_process,
            **_as_postgres(),
        )
        try:
            wait_until(
                self._answers,
                timeout=30,
                what=f"postgres {self.address}",
                log_path=self.log_path,
                process=self.process,
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are cut, as in a real outage or failover."""
        self.release_connections()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop_process(process, grace=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop and delete the data directory (the handle cannot start again)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- clients -------------------------------------------------------------------------------

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A psycopg connection over TCP with the superuser password (autocommit)."""
        kwargs.setdefault("connect_timeout", 5)
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows ([] when it returns none)."""
        with self.connect() as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def _answers(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                return conn.execute("select 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    # -- faults --------------------------------------------------------------------------------

    def exhaust_connections(self) -> list[psycopg.Connection[Any]]:
        """Open connections until the server says "too many clients"; they stay held.

        Returns the held connections; ``release_connections()`` (or ``stop()``) closes them.
        """
        for _ in range(self.max_connections + 5):
            try:
                self.held.append(self.connect())
            except psycopg.OperationalError as exc:
                if "too many clients" in str(exc) or "remaining connection slots" in str(exc):
                    return list(self.held)
                raise
        raise AssertionError(
            f"postgres {self.address} accepted {len(self.held)} connections with "
            f"max_connections={self.max_connections}"
        )

    def release_connections(self) -> None:
        held, self.held = self.held, []
        for conn in held:
            with contextlib.suppress(Exception):
                conn.close()

    def log(self) -> str:
        return log_tail(self.log_path, lines=200)


def new_postgres(
    template: PostgresTemplate,
    *,
    host: str = "127.0.0.1",
    max_connections: int = 20,
    settings: dict[str, str] | None = None,
) -> PostgresServer:
    """A stopped server with its own copy of the template cluster, on a free port."""
    root = _make_owned_dir("triage-pg-")
    result = subprocess.run(
        ["cp", "-a", str(template.datadir), str(root / "data")],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise ServerStartError(f"could not copy the postgres template: {result.stderr}")
    return PostgresServer(
        host=host,
        port=free_port(host),
        root=root,
        max_connections=max_connections,
        settings=dict(settings or {}),
    )


@contextlib.contextmanager
def start_postgres(
    template: PostgresTemplate | None = None,
    *,
    host: str = "127.0.0.1",
    max_connections: int = 20,
    settings: dict[str, str] | None = None,
) -> Iterator[PostgresServer]:
    """Start a private postgres (initdb'ing a template when none is given); always removed."""
    own_template = template is None
    template = template or PostgresTemplate.create()
    try:
        server = new_postgres(
            template, host=host, max_connections=max_connections, settings=settings
        )
        try:
            server.start()
            yield server
        finally:
            server.remove()
    finally:
        if own_template:
            template.remove()
