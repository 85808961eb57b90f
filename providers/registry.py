"""Provider kinds by name, imported only when a target of that kind is used.

Importing boto3, kubernetes or docker costs 0.3-0.6 s each; a TUI watching one Redis must not pay
for them, so this table holds dotted paths, not classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.contract import ActionSpec, CheckSpec, CommandSpec
    from providers.inventory import Target

PROVIDER_KINDS: dict[str, str] = {
    "redis": "providers.redis_provider:RedisProvider",
    "postgres": "providers.postgres_provider:PostgresProvider",
    "rabbitmq": "providers.rabbitmq_provider:RabbitMQProvider",
    "http": "providers.http_provider:HttpProvider",
    "compose": "providers.compose_provider:ComposeProvider",
    "ecs": "providers.ecs_provider:EcsProvider",
    "kubernetes": "providers.kubernetes_provider:KubernetesProvider",
}


def provider_class(kind: str) -> type[Provider]:
    """The provider class for `kind`, importing its module on first use."""
    try:
        dotted = PROVIDER_KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown provider kind {kind!r}") from None
    module_name, class_name = dotted.split(":")
    provider: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    return provider


def create_provider(target: Target, *, default_timeout: float) -> Provider:
    return provider_class(target.kind)(target, default_timeout=default_timeout)


def check_catalogue() -> dict[str, tuple[str, CheckSpec]]:
    """Every registered check by name, with the provider kind that runs it.

    Provider modules import their SDKs lazily, so this costs the modules, not boto3 or docker.
    """
    return {
        name: (kind, spec)
        for kind in PROVIDER_KINDS
        for name, spec in provider_class(kind).checks.items()
    }


def action_catalogue() -> dict[str, tuple[str, ActionSpec]]:
    """Every registered action by name, with the provider kind that runs it."""
    return {
        name: (kind, spec)
        for kind in PROVIDER_KINDS
        for name, spec in provider_class(kind).actions.items()
    }


def command_catalogue() -> dict[str, CommandSpec]:
    """What fix commands may use of each kind, by kind."""
    from providers.contract import CommandSpec

    return {
        kind: CommandSpec(
            kind,
            provider_class(kind).command_tools,
            provider_class(kind).command_variables,
            provider_class(kind).command_shadows,
        )
        for kind in PROVIDER_KINDS
    }
