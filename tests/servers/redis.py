"""A private redis-server on a free loopback port, with faults the tests inject."""

from __future__ import annotations

import contextlib
import itertools
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis as redis_client

from .process import (
    die_with_test_process,
    free_port,
    require_binary,
    spawn,
    stop_process,
    wait_until,
)


@dataclass
class RedisServer:
    host: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self) -> redis_client.Redis:
        return redis_client.Redis(
            host=self.host, port=self.port, password=self.password, socket_timeout=5
        )

    def require_password(self, password: str) -> None:
        """From now on clients must authenticate; this handle's own clients do."""
        self.client().config_set("requirepass", password)
        self.password = password

    def start(self) -> None:
        binary = require_binary("redis-server")
        log_path = self.workdir / "redis.log"
        self.process = spawn(
            [
                binary,
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
                "--enable-protected-configs",  # tests move `dir` to break saves
                "yes",
                "--enable-debug-command",
                "yes",
            ],
            log_path,
            preexec_fn=die_with_test_process,
        )
        try:
            wait_until(
                self._answers,
                timeout=15,
                what=f"redis {self.address}",
                log_path=log_path,
                process=self.process,
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis_client.RedisError:
            return False

    def fill_to_maxmemory(self, maxmemory: str = "2mb") -> None:
        """Exhaust memory under `noeviction`: writes start failing with OOM, as in production."""
        client = self.client()
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", maxmemory)
        # Smaller writes once a big one is refused: a refused 10 KB write can leave the server
        # at 94% of the limit, where a 100-byte write still fits.
        keys = itertools.count()
        for size in (10_000, 1_000, 100):
            payload = b"x" * size
            for _ in range(10_000):
                try:
                    client.set(f"fill:{next(keys)}", payload)
                except redis_client.exceptions.OutOfMemoryError:
                    break
            else:
                raise AssertionError("redis never reported OOM while filling to maxmemory")


@contextlib.contextmanager
def start_redis(workdir: Path, host: str = "127.0.0.1") -> Iterator[RedisServer]:
    server = RedisServer(host=host, port=free_port(host), workdir=workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
