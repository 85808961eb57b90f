"""Who consumes a queue, from the management API's consumers and connections listings: the
names the clients gave their connections."""

from __future__ import annotations

from typing import Any

from providers.rabbitmq_management import consumer_names

CONNECTIONS: list[dict[str, Any]] = [
    {"name": "10.0.0.5:41000 -> 10.0.0.2:5672", "user_provided_name": "payment-worker-7d9f-x2k9q"},
    {
        "name": "10.0.0.6:41100 -> 10.0.0.2:5672",
        "client_properties": {"connection_name": "payment-worker-7d9f-b7m4t"},
    },
    {"name": "10.0.0.7:41200 -> 10.0.0.2:5672", "client_properties": {"product": "pika"}},
    {"name": "10.0.0.8:41300 -> 10.0.0.2:5672", "user_provided_name": "mailer"},
]


def consuming(connection: str, queue: str, vhost: str = "/") -> dict[str, object]:
    return {
        "queue": {"name": queue, "vhost": vhost},
        "channel_details": {"connection_name": connection},
    }


def test_each_queue_is_consumed_by_the_names_its_clients_gave_each_once() -> None:
    consumers = [
        consuming(CONNECTIONS[0]["name"], "payments"),
        consuming(CONNECTIONS[0]["name"], "payments"),  # two channels
        consuming(CONNECTIONS[1]["name"], "payments"),
        consuming(CONNECTIONS[2]["name"], "payments"),  # no name given
        consuming(CONNECTIONS[3]["name"], "emails", "shop"),
        consuming("gone:1 -> 10.0.0.2:5672", "audit"),  # its connection closed meanwhile
    ]
    assert consumer_names(consumers, CONNECTIONS) == {
        ("/", "payments"): ("payment-worker-7d9f-b7m4t", "payment-worker-7d9f-x2k9q"),
        ("shop", "emails"): ("mailer",),
    }


def test_listings_that_are_not_lists_name_nobody() -> None:
    assert consumer_names({"error": "not_authorised"}, CONNECTIONS) == {}
    assert consumer_names([consuming(CONNECTIONS[3]["name"], "emails")], None) == {}
