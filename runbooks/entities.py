"""What a symptom names in the live tree: services, pods, queues, databases, addresses.

An index built from one sweep's trees: every node by the names an operator would use for it
(a pod's name without its hash suffix, a deployment without `deployment/`, a target's name), and
every target by its address (`host:port`, with localhost, 127.0.0.1 and ::1 the same host). A
text is read once, word by word, so a long paste costs its length, not its length times the tree.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from providers.addresses import addresses_in_text, normal_host
from providers.contract import Health, Node

# Kinds that group others: naming one says less than naming a service, a pod, a queue or a
# server (a Redis, a PostgreSQL, a broker are targets of their own, not groups).
GROUP_KINDS = frozenset(
    {
        "k8s.cluster",
        "k8s.namespace",
        "compose.engine",
        "compose.project",
        "aws.account",
        "ecs.cluster",
    }
)
# A pod's name: its workload's, then a ReplicaSet hash and a random suffix (a DaemonSet's or a
# Job's: the suffix alone; a StatefulSet's: an ordinal). Kubernetes draws both from an alphabet
# without vowels, so a word like "exporter" is a name, not a hash.
_GENERATED = re.compile(r"[a-z0-9]{4,10}")
_WORDISH = re.compile(r"[a-z]*[aeiou][a-z]*")
_WORD = re.compile(r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?")
MIN_NAME = 2
MIN_PART = 4
# A shorter part ("pdf" of pdf-renderer, "sso" of sso-gateway) names a service only when it is
# the one thing here that has it: "api" of a tree with five *-api services names none of them.
MIN_RARE_PART = 3
# What operators call a store by its kind ("the Redis", "our Postgres", "the broker"): it names
# the store when it is the only one of its kind here, weakly (as a part of a name does).
KIND_WORDS = {
    "redis": "redis.instance",
    "postgres": "postgres.server",
    "postgresql": "postgres.server",
    "database": "postgres.server",
    "rabbitmq": "rabbitmq.node",
    "rabbit": "rabbitmq.node",
    "broker": "rabbitmq.node",
}
_HOST_PORT = re.compile(r"(\[[0-9a-f:]+\]|[a-z0-9_.-]+):(\d{1,5})", re.I)


def _generated(part: str) -> bool:
    return bool(_GENERATED.fullmatch(part)) and not _WORDISH.fullmatch(part)


def pod_base(name: str) -> str | None:
    """`payment-worker-5d9c7b8f4-xk2lp` -> `payment-worker` (None when no suffix is seen)."""
    parts = name.split("-")
    if len(parts) >= 3 and _generated(parts[-1]) and _generated(parts[-2]):
        return "-".join(parts[:-2])
    if len(parts) >= 2 and (_generated(parts[-1]) or parts[-1].isdigit()):
        return "-".join(parts[:-1])
    return None


@dataclass(frozen=True, slots=True)
class Entity:
    """A node of the tree with where it lives: its target (root) and its ancestors."""

    node: Node
    root: Node
    path: tuple[Node, ...]  # from the root to the node, both included

    @property
    def kind(self) -> str:
        return self.node.kind

    @property
    def target(self) -> str:
        return self.root.id.split(":", 1)[1]

    @property
    def target_kind(self) -> str:
        return self.root.id.split(":", 1)[0]

    @property
    def params(self) -> dict[str, str]:
        """The node's runbook parameters, its ancestors' first (a pod's namespace...)."""
        found: dict[str, str] = {}
        for node in self.path:
            found.update(dict(node.params))
        return found

    @property
    def failing(self) -> bool:
        return self.node.status.health in (Health.FAILING, Health.DEGRADED)

    @property
    def grouping(self) -> bool:
        return self.node.kind in GROUP_KINDS

    def descendants(self) -> Iterator[Node]:
        return iter(self.node.walk())


@dataclass(frozen=True, slots=True)
class Mention:
    """An entity the text names, and how: by `name`, by a pod's `hashed` name, by `address`,
    or by a `part` of its name ("checkout" for checkout-api), the weakest."""

    entity: Entity
    said: str
    how: str


@dataclass
class EntityIndex:
    """The trees of one sweep, looked up by name and by address."""

    trees: Sequence[Node]
    addresses: Mapping[str, str] = field(default_factory=dict)  # root id -> provider.address
    _by_id: dict[str, Entity] = field(init=False, default_factory=dict)
    _by_name: dict[str, list[Entity]] = field(init=False, default_factory=dict)
    _by_address: dict[str, Entity] = field(init=False, default_factory=dict)
    _by_part: dict[str, list[Entity]] = field(init=False, default_factory=dict)
    _used_by: dict[str, list[Entity]] = field(init=False, default_factory=dict)  # client name
    _roots_of_kind: dict[str, list[Entity]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for root in self.trees:
            self._add(root, root, (root,))
            self._roots_of_kind.setdefault(root.kind, []).append(self._by_id[root.id])
            for where in _addresses_of(self.addresses.get(root.id, "")):
                self._by_address.setdefault(where, self._by_id[root.id])

    def _add(self, node: Node, root: Node, path: tuple[Node, ...]) -> None:
        entity = Entity(node, root, path)
        self._by_id[node.id] = entity
        for name in _names(node, root):
            if len(name) >= MIN_NAME and not name.isdigit():
                self._by_name.setdefault(name, []).append(entity)
            if node.kind not in GROUP_KINDS and node.kind != "k8s.pod":
                for part in re.split(r"[-_.]", name):  # "checkout" in checkout-api
                    if len(part) >= MIN_RARE_PART and part != name and not part.isdigit():
                        self._by_part.setdefault(part, []).append(entity)
        for client in node.clients:
            for name in _client_names(client):
                self._used_by.setdefault(name, []).append(entity)
        for child in node.children:
            self._add(child, root, (*path, child))

    # -- lookups -------------------------------------------------------------------------------

    def entity(self, node_id: str) -> Entity | None:
        return self._by_id.get(node_id)

    def entities(self) -> list[Entity]:
        return list(self._by_id.values())

    def named(self, name: str) -> list[Entity]:
        return list(self._by_name.get(name.lower(), []))

    def at_address(self, where: str) -> Entity | None:
        """The target listening at `host:port`, or a node whose name is that host (a compose
        service or a target named `cache` in `cache:6379`)."""
        host, _, port = where.rpartition(":")
        found = self._by_address.get(f"{normal_host(host)}:{port}")
        if found is not None:
            return found
        same_name = [e for e in self.named(host) if not e.grouping]
        roots = [e for e in same_name if e.node is e.root]
        return next(iter(roots or same_name), None)

    def mentions(self, text: str) -> list[Mention]:
        """Every entity `text` names, the most specific first, each once.

        Besides whole names: a DNS name's first label (`orders-db.shop.svc.cluster.local`,
        `shop-prod-db.cluster-x.rds.amazonaws.com`) names as strongly as the name; a plural
        or singular of a name ("order" for orders), two words written apart ("check out" for
        checkout) and a part of a hyphenated name name weakly."""
        lowered = text.lower()
        found: dict[str, Mention] = {}
        for where in addresses_in_text(text):
            entity = self.at_address(where)
            if entity is not None and entity.node.id not in found:
                found[entity.node.id] = Mention(entity, where, "address")
        words = [match.group() for match in _WORD.finditer(lowered)]
        for word in words:
            self._named(word, word, found)
            label = word.split(".", 1)[0]
            if label != word:  # a DNS name: its first label, when it reads as a service's name
                self._named(label, word, found, weak="-" not in label)
            base = pod_base(word)
            if base and word not in self._by_name:
                for entity in self._by_name.get(base, []):
                    if not entity.grouping:
                        found.setdefault(entity.node.id, Mention(entity, word, "hashed"))
        named = {mention.entity.node.id for mention in found.values()}
        pairs = list(itertools.pairwise(words))
        weak = [*words, *_other_numbers(words), *(a + b for a, b in pairs)]
        weak += [f"{a}-{b}" for a, b in pairs]
        for word in weak:
            parts = self._by_part.get(word, [])
            if len(word) < MIN_PART and len(_things(parts)) != 1:
                parts = []  # a short part names something only where it is rare
            for entity in [*parts, *self._by_name.get(word, [])]:
                if entity.node.id not in named and not entity.grouping:
                    found.setdefault(entity.node.id, Mention(entity, word, "part"))
        for word in set(words) & KIND_WORDS.keys():  # "the Redis", when there is one
            same_kind = self._roots_of_kind.get(KIND_WORDS[word], [])
            if len(same_kind) == 1:
                found.setdefault(same_kind[0].node.id, Mention(same_kind[0], word, "part"))
        return sorted(found.values(), key=_specific_first)

    def _named(
        self, name: str, said: str, found: dict[str, Mention], *, weak: bool = False
    ) -> None:
        same = self._by_name.get(name, [])
        # A name that is also a group's ("shop": a namespace, a compose project, and a
        # database) most likely names the group: its namesakes are named only weakly.
        homonym = any(entity.grouping for entity in same) and len(same) > 1
        for entity in same:
            how = "part" if (homonym or weak) and not entity.grouping else "name"
            found.setdefault(entity.node.id, Mention(entity, said, how))

    def dependencies(self, entity: Entity) -> list[Entity]:
        """The targets (or nodes) an entity's configuration says it connects to, and the stores
        whose clients, connected now, give themselves its name (a database one of whose
        sessions is `storefront`, for the target storefront)."""
        addresses = {where for node in entity.descendants() for where in node.depends_on}
        addresses.update(where for node in entity.path for where in node.depends_on)
        found: dict[str, Entity] = {}
        for where in sorted(addresses):
            dependency = self.at_address(where)
            if dependency is not None and dependency.root is not entity.root:
                found.setdefault(dependency.node.id, dependency)
        if not entity.grouping:
            for name in sorted(_names(entity.node, entity.root)):
                for store in self._used_by.get(name, []):
                    if store.root is not entity.root:
                        found.setdefault(store.node.id, store)
        return list(found.values())

    def clients_of(self, entity: Entity) -> list[Entity]:
        """The services, deployments or pods an entity's live clients name (a queue's consumers
        by their connections' names), each once, a pod's workload for the pod."""
        found: dict[str, Entity] = {}
        for client in entity.node.clients:
            named = [
                other
                for name in sorted(_client_names(client))
                for other in self._by_name.get(name, [])
                if not other.grouping and other.root is not entity.root
            ]
            workloads = [other for other in named if other.kind != "k8s.pod"]
            for other in workloads or named:
                found.setdefault(other.node.id, other)
        return _things(list(found.values()))


def _things(entities: Sequence[Entity]) -> list[Entity]:
    """The entities that are not inside another of them (a service, not also its container)."""
    ids = {entity.node.id for entity in entities}
    return [e for e in entities if not any(node.id in ids for node in e.path[:-1])]


def _other_numbers(words: Iterable[str]) -> Iterator[str]:
    """Each word's plural or singular: "order" and "orders" name the same queue."""
    for word in words:
        if len(word) > 3 and word.endswith("s"):
            yield word[:-1]
        elif len(word) > 2 and not word.endswith("s") and word.isalpha():
            yield f"{word}s"


def _specific_first(mention: Mention) -> tuple[int, int, str]:
    entity = mention.entity
    how = {"address": 0, "hashed": 1, "name": 2, "part": 3}[mention.how]
    return (1 if entity.grouping else 0, how, entity.node.id)


def _names(node: Node, root: Node) -> Iterable[str]:
    """The names an operator would give a node."""
    names = {node.name.lower()}
    if node is root:
        names = {root.id.split(":", 1)[1].lower()}  # the target's name, not "cache (addr)"
    if "/" in node.name:  # deployment/payment-worker
        names.add(node.name.rsplit("/", 1)[1].lower())
    if node.kind == "k8s.pod" and (base := pod_base(node.name.lower())):
        names.add(base)
    return names


def _client_names(client: str) -> set[str]:
    """The names a store's client goes by: as it gave it (`storefront`), without a pod's
    suffix (`payment-worker` for payment-worker-5d9c7b8f4-xk2lp, a pod's hostname) and before
    an `@` or a space (`storefront@web-1`, `storefront web`)."""
    given = client.strip().lower()
    names = {given, re.split(r"[@\s]", given, maxsplit=1)[0]}
    names.update(base for name in list(names) if (base := pod_base(name)))
    return {name for name in names if len(name) >= MIN_PART}


def _addresses_of(address: str) -> list[str]:
    """`127.0.0.1:6379`, `127.0.0.1:5432/shop`, `http://h:8080/health` -> their host:port."""
    found = []
    for match in _HOST_PORT.finditer(address.replace("://", " ")):
        found.append(f"{normal_host(match.group(1))}:{match.group(2)}")
    return found
