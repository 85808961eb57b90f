"""Provider kinds by name, imported only when a target of that kind is used.

Importing boto3, kubernetes or docker costs 0.3-0.6 s each; a TUI watching one Redis must not pay
for them, so this table holds dotted paths, not classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.inventory import Target

PROVIDER_KINDS: dict[str, str] = {
    "redis": "providers.redis_provider:RedisProvider",
    "postgres": "providers.postgres_provider:PostgresProvider",
    "rabbitmq": "providers.rabbitmq_provider:RabbitMQProvider",
    "http": "providers.http_provider:HttpProvider",
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
