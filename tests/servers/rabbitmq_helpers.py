"""Helpers of the private RabbitMQ node (``tests.servers.rabbitmq``): its environment and
files (config, advanced.config, enabled plugins), and the small process and URL utilities.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import TYPE_CHECKING

from .process import free_port

if TYPE_CHECKING:
    from .rabbitmq import RabbitMQServer


def node_env(server: RabbitMQServer) -> dict[str, str]:
    """The environment that makes rabbitmq-server and rabbitmqctl mean *this* node."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("RABBITMQ_", "ERL_"))
    }
    env.update(
        HOME=str(server.home),
        LC_ALL="C.UTF-8",
        LANG="C.UTF-8",
        RABBITMQ_NODENAME=server.nodename,
        RABBITMQ_NODE_IP_ADDRESS=server.host,
        RABBITMQ_NODE_PORT=str(server.amqp_port),
        RABBITMQ_DIST_PORT=str(server.dist_port),
        RABBITMQ_CONF_ENV_FILE=str(server.workdir / "rabbitmq-env.conf"),
        RABBITMQ_CONFIG_FILE=str(server.workdir / "rabbitmq.conf"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(server.workdir / "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(server.workdir / "enabled_plugins"),
        RABBITMQ_MNESIA_BASE=str(server.workdir / "mnesia"),
        RABBITMQ_LOG_BASE=str(server.workdir / "log"),
        RABBITMQ_PLUGINS_EXPAND_DIR=str(server.workdir / "plugins-expand"),
        RABBITMQ_PID_FILE=str(server.workdir / "rabbitmq.pid"),
        ERL_EPMD_ADDRESS="127.0.0.1",
        ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}",
    )
    return env


def write_node_files(server: RabbitMQServer) -> None:
    """The node's directories, env file, rabbitmq.conf, advanced.config and plugins file."""
    for sub in ("home", "mnesia", "log", "plugins-expand"):
        (server.workdir / sub).mkdir(parents=True, exist_ok=True)
    # An empty env file of our own: the system one names the system node.
    (server.workdir / "rabbitmq-env.conf").write_text("")
    # Management stats are sampled every second instead of every five (the default), so
    # the API's queue depth follows a publish within about two seconds.
    policies = "[{global, [{605, 1}]}, {basic, [{605, 1}]}, {detailed, [{605, 1}]}]"
    (server.workdir / "advanced.config").write_text(
        f"[{{rabbitmq_management_agent, [{{sample_retention_policies, {policies}}}]}},\n"
        f" {{rabbitmq_management, [{{sample_retention_policies, {policies}}}]}}].\n"
    )
    (server.workdir / "enabled_plugins").write_text("[rabbitmq_management].\n")
    (server.workdir / "rabbitmq.conf").write_text(
        "\n".join(
            [
                f"listeners.tcp.default = {server.host}:{server.amqp_port}",
                f"management.tcp.ip = {server.host}",
                f"management.tcp.port = {server.management_port}",
                f"default_user = {server.user}",
                f"default_pass = {server.password}",
                "default_user_tags.administrator = true",
                "default_permissions.configure = .*",
                "default_permissions.read = .*",
                "default_permissions.write = .*",
                "loopback_users = none",
                # Queues and channels emit their stats every second, not every five.
                "collect_statistics_interval = 1000",
                "disk_free_limit.absolute = 50MB",
                "log.console = false",
                "log.file.level = info",
                "",
            ]
        )
    )


def quote_segment(segment: str) -> str:
    """One path segment of a management API URL (the default vhost "/" is "%2F")."""
    return urllib.parse.quote(segment, safe="")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def distinct_free_ports(host: str, count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports
