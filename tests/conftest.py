"""Fixtures shared by every test: private servers on free loopback ports (tests/servers/)."""

pytest_plugins = [
    "tests.servers.fixtures",
    "tests.servers.http",
    "tests.servers.moto_server",
    "tests.servers.kube_api",
]
