"""The storefront caches each product's price in Redis (target `cache`, keys `price:sku:*`) and
reads it from there before the database. Last week's refactor of the cache client dropped the
expiry the writer used to give those keys (one hour), and the admin's price changes never
deleted them (they relied on the hour): since the release, a price, once cached, stays for good.
Yesterday's price cuts are in the database and in the admin, but product pages and the cart still
show, and charge, the old prices. Sessions and rendered pages are cached with their expiries as
before. The operator relays what the merchandising team says."""

import json

from bench.diagnosis.faults_heldout4 import cached_without_expiry
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_redis("cache")
    client = server.client()
    with client.pipeline(transaction=False) as pipe:
        for index in range(60):
            pipe.set(f"session:{61000 + index}", f'{{"customer_id": {4100 + index}}}', ex=86400)
        for index in range(120):
            pipe.set(f"page:product:{20400 + index}", "<div class='product'>...</div>", ex=900)
        pipe.execute()
    client.close()
    prices = {
        str(20400 + index): json.dumps(
            {
                "sku": 20400 + index,
                "price": f"{19 + (index * 7) % 120}.00",
                "currency": "EUR",
                "cached_at": "2026-12-03T09:14:22Z",
            }
        )
        for index in range(480)
    }
    prices["20417"] = json.dumps(
        {"sku": 20417, "price": "89.00", "currency": "EUR", "cached_at": "2026-12-04T16:02:51Z"}
    )
    cached_without_expiry(server, "price:sku:", prices)


SCENARIO = Scenario(
    symptom=(
        "merchandising cut the prices of the whole winter range in the admin yesterday morning "
        "(the merino jumper went from 89 to 69). today the product pages still show 89, and "
        "the cart charges 89 too. the admin and the products table both say 69. "
        "products whose price didn't change look fine"
    ),
    style="vague",
    kind="redis",
    cascade=True,
    expected=(
        "the cache holds the prices (price:sku:*) without any expiry since last week's "
        "release, and nothing deletes them when a price changes: the storefront keeps serving "
        "the prices cached before yesterday's change"
    ),
    accept=(("redis-cache-inconsistency", "keys-without-ttl"),),
    about="cache",
    make=make,
)
