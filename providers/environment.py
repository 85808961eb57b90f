"""One environment of the inventory, live: its providers, discovered and checked concurrently.

Both the TUI and the headless commands go through this, so they discover and check the same way.
Every provider call is bounded by its timeout (plus a small grace for the provider's own
clean-up), and a slow target never delays another: all calls run concurrently.

This is where what providers return enters the app, so it is redacted here, once: every tree
(reasons, details, names that hold a secret's shape) and every check result (summary, evidence,
facts). The names of the entities discovered are known identifiers, so `sec-secret: 1/1 running`
stays readable (providers/redact.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from providers.addresses import url_port_problem
from providers.base import Provider
from providers.contexts import (
    ContextChoices,
    ContextOverrides,
    context_choices,
    context_line,
    contexts_in_use,
)
from providers.contract import CheckCall, CheckResult, CheckStatus, Health, Node, Status
from providers.inventory import Inventory, SecretError, Target
from providers.redact import names_in, redact_node, redact_result, secret_like_names
from providers.registry import provider_class
from providers.sweep import one_sweep

GRACE_SECONDS = 0.5

# The SDK each kind imports on its first call. Each costs 0.1-0.6 s; imported inside a provider's
# first call it would run on the event loop and freeze the UI (its first frame included), so the
# environment imports them in a thread before its first discovery or check.
SDK_MODULES: dict[str, tuple[str, ...]] = {
    "redis": ("redis.asyncio",),
    "postgres": ("psycopg",),
    "http": ("httpx", "httpcore"),
    "rabbitmq": ("httpx", "httpcore", "pika"),
    "compose": ("docker",),
    "ecs": ("botocore.session",),
    "kubernetes": ("kubernetes.client",),
}


# The kind whose first answer takes the most calls comes first (ECS), then the stores' small
# drivers (a store that does not answer starts its timeout early instead of after a second of
# imports), then the larger SDKs.
SDK_ORDER = ("ecs", "redis", "postgres", "http", "rabbitmq", "kubernetes", "compose")


def _sdk_rank(kind: str) -> int:
    return SDK_ORDER.index(kind) if kind in SDK_ORDER else len(SDK_ORDER)


def _import_all(modules: Iterable[str]) -> None:
    for name in modules:
        # A missing SDK is the provider's to report (with its target), on its first call.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


_ROOMY: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
IO_THREADS = 64


def _roomy_threads(loop: asyncio.AbstractEventLoop) -> None:
    """Give the loop enough threads for blocking SDK calls (Docker, boto3, kubernetes, pika).

    asyncio's default pool has min(32, CPUs + 4) threads: 6 on a 2-core bastion, so six calls
    to a dead host would hold every thread and every other target's checks would wait behind
    them. The calls mostly wait on sockets, so many threads cost little.
    """
    if loop not in _ROOMY:
        loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(IO_THREADS, thread_name_prefix="triage-io")
        )
        _ROOMY.add(loop)


def _below(tree: Node, depth: int = 1) -> Iterator[tuple[Node, int]]:
    """Every descendant of a target's tree with its depth (children are 1)."""
    for child in tree.children:
        yield child, depth
        yield from _below(child, depth + 1)


@dataclass(frozen=True, slots=True)
class PlannedCheck:
    """A check to run on a node."""

    node_id: str
    call: CheckCall


@dataclass(frozen=True, slots=True)
class TargetChecked:
    """One target done: its tree, and the results of its own checks and its children's."""

    tree: Node
    results: tuple[CheckResult, ...]


# How many targets `check_each_target` works on at once: a dead host holds one of them for its
# timeout; 76,000 targets at once held 900 MB and printed nothing for minutes.
TARGETS_AT_ONCE = 64
# A target that cannot be used as written: the check its one result is under.
URL_CHECK = "target.url"
LOAD_CHECK = "provider.load"


def target_problem(target: Target) -> str | None:
    """Why a target cannot be reached as written (`target cache: port 99999 is out of range
    1-65535`), or None. A URL that comes from a secret is read here too; one that cannot be
    read is its provider's to say, with its other errors."""
    urls: list[tuple[str, object]] = [("", target.url)]
    urls += [(f"{name}: ", value) for name, value in target.options.items() if name.endswith("url")]
    for label, value in urls:
        try:
            url = target.resolve_url("") if label == "" else value
        except SecretError:
            continue
        if isinstance(url, str) and (problem := url_port_problem(url)) is not None:
            return f"target {target.name}: {label}{problem}"
    return None


class LiveEnvironment:
    """The providers of one environment, created on first use and closed together."""

    def __init__(
        self,
        inventory: Inventory,
        name: str | None = None,
        *,
        read_only: bool = False,
        overrides: ContextOverrides | None = None,
    ) -> None:
        self.inventory = inventory
        self.name = inventory.environment_name(name)
        self._forced_read_only = read_only
        self.overrides = overrides or ContextOverrides()
        self.config = inventory.environments[self.name]
        self.settings = inventory.settings
        self.targets = [self.overrides.apply(target) for target in self.config.targets]
        self.root_ids = [f"{target.kind}:{target.name}" for target in self.targets]
        self._made: dict[str, Provider] | None = None
        self._making = threading.Lock()
        # Targets without a provider, by root id: (the check that says so, why).
        self._load_errors: dict[str, tuple[str, str]] = {}
        self._sdks: asyncio.Future[None] | None = None
        self._kinds_ready: dict[str, asyncio.Future[None]] = {}
        self._sdks_loaded = False
        self._contexts: dict[str, tuple[str, ...]] | None = None
        # Entities' names that end in a secret word (`sec-secret`), from the trees discovered
        # and the checks' parameters: identifiers, never keys of a secret (providers/redact.py).
        self._secret_like_names: set[str] = set()

    @property
    def _providers(self) -> dict[str, Provider]:
        """The providers, made on first use: making one imports its modules (0.3 s for seven
        kinds), which the TUI does after its first frame, not before it."""
        if self._made is None:
            with self._making:
                if self._made is None:
                    self._made = self._make_providers()
        return self._made

    def _make_providers(self) -> dict[str, Provider]:
        made: dict[str, Provider] = {}
        classes: dict[str, type[Provider] | ImportError] = {}
        for root_id, target in zip(self.root_ids, self.targets, strict=True):
            # A port out of range would fail every call, deep in a driver: said once, here.
            if (problem := target_problem(target)) is not None:
                self._load_errors[root_id] = (URL_CHECK, problem)
                continue
            if target.kind not in classes:  # looked up once per kind, not once per target
                try:
                    classes[target.kind] = provider_class(target.kind)
                except ImportError as error:
                    classes[target.kind] = error
            found = classes[target.kind]
            if isinstance(found, ImportError):
                reason = f"cannot load the {target.kind} provider: {found}"
                self._load_errors[root_id] = (LOAD_CHECK, reason)
                continue
            provider = found(target, default_timeout=self.settings.check_timeout)
            made[provider.root_id] = provider
        return made

    @property
    def unusable_targets(self) -> Mapping[str, str]:
        """Why each target that has no provider has none, by root id (a bad URL, an SDK
        missing): it shows failing in the tree and its one result says why."""
        self._providers  # noqa: B018 - they are found while the providers are made
        return {root_id: reason for root_id, (_, reason) in self._load_errors.items()}

    @property
    def secret_like_names(self) -> frozenset[str]:
        """The entities' names seen so far that end in a secret word (`sec-secret`): what a
        later pass of `redact` over this environment's output must read as names."""
        return frozenset(self._secret_like_names)

    @property
    def read_only(self) -> bool:
        """Whether actions are blocked: by the inventory, or by --read-only."""
        return self._forced_read_only or self.config.read_only

    @property
    def providers(self) -> list[Provider]:
        return list(self._providers.values())

    def targets_of(self, kind: str) -> list[Target]:
        return [target for target in self.targets if target.kind == kind]

    @property
    def contexts_in_use(self) -> dict[str, tuple[str, ...]]:
        """The kube contexts, AWS profiles and regions the targets use, by picker section.

        Empty until `read_contexts` has run (in a thread: it reads the kubeconfig and AWS
        config files); the environment runs it with its first discovery or check.
        """
        return self._contexts or {}

    def read_contexts(self) -> dict[str, tuple[str, ...]]:
        if self._contexts is None:
            self._contexts = contexts_in_use(self.targets)
        return self._contexts

    def context_line(self) -> str:
        """`kube prod-eu · aws ops/eu-west-1`, for the header; "" without such targets."""
        return context_line(self.contexts_in_use)

    def context_choices(self) -> ContextChoices:
        """Every kube context, AWS profile and region to switch to (reads files: in a thread)."""
        return context_choices(self.targets)

    def provider_for(self, node_id: str) -> Provider:
        """The provider of the target whose tree holds `node_id` (`redis:cache/db0`): looked up,
        not searched for, since each of 76,000 targets' checks asks."""
        providers = self._providers
        root = node_id
        while (provider := providers.get(root)) is None:
            cut = root.rfind("/")
            if cut < 0:
                raise KeyError(f"no provider owns node {node_id!r}")
            root = root[:cut]
        return provider

    def _prepare(self, kinds: list[str], ready: Callable[[str], None]) -> None:
        try:
            for kind in kinds:
                _import_all(SDK_MODULES.get(kind, ()))
                ready(kind)  # that kind's providers may start while the next SDK loads
            self.read_contexts()  # file reads, so here in the thread rather than on the loop
        finally:
            for kind in kinds:
                ready(kind)  # a failure above must not leave a provider waiting for ever

    async def prepare(self) -> None:
        """Ready for provider calls made outside this class (log streams, change feeds): the
        SDKs are imported by one thread only, since two threads importing the same module can
        deadlock in the import system."""
        await self._load_sdks()

    async def _load_sdks(self, kind: str | None = None) -> None:
        """Import the configured kinds' SDKs in a thread, once; concurrent callers share it.

        With `kind`, wait only until that kind's SDK is in: the kinds whose first answer takes
        the most calls go first, so their calls overlap the other imports."""
        if self._sdks_loaded:
            return
        loop = asyncio.get_running_loop()
        _roomy_threads(loop)
        # The providers (this project's modules) are made here, on the caller's thread: Python
        # 3.11 may fail ("AST constructor recursion depth mismatch") when two threads compile
        # source at once, and ours has no .pyc before its first run. The SDKs have theirs.
        self._providers  # noqa: B018
        if self._sdks is None or self._sdks.get_loop() is not loop:
            kinds = sorted({t.kind for t in self.targets}, key=_sdk_rank)
            waiting = {k: loop.create_future() for k in kinds}

            def ready(kind: str) -> None:
                def resolve() -> None:
                    if not waiting[kind].done():
                        waiting[kind].set_result(None)

                loop.call_soon_threadsafe(resolve)

            self._kinds_ready = waiting
            self._sdks = asyncio.ensure_future(asyncio.to_thread(self._prepare, kinds, ready))
        if kind is not None and (one := self._kinds_ready.get(kind)) is not None:
            await asyncio.shield(one)
            return
        await asyncio.shield(self._sdks)
        self._sdks_loaded = True

    async def discover(self, on_tree: Callable[[Node], None] | None = None) -> list[Node]:
        """Every target's tree, in inventory order; a target that fails shows why.

        `on_tree` hears each target's tree as soon as it is known, so a screen can show the
        quick targets while a slow one is still answering.
        """

        async def one(provider: Provider) -> Node:
            tree = await self._discover_one(provider)
            if on_tree is not None:
                on_tree(tree)
            return tree

        providers = list(self._providers.values())
        broken = self._unusable_trees()
        if on_tree is not None:  # a target that cannot be used shows at once, failing
            for tree in broken:
                on_tree(tree)
        nodes = await asyncio.gather(*(one(p) for p in providers))
        return [*nodes, *broken]

    def _unusable_trees(self) -> list[Node]:
        return [
            self._redacted_tree(
                Node(
                    id=root_id, kind="provider", name=root_id, status=Status(Health.FAILING, reason)
                )
            )
            for root_id, (_, reason) in self._load_errors.items()
        ]

    def _unusable_results(self) -> list[CheckResult]:
        return [
            redact_result(
                CheckResult(
                    check=check,
                    target=root_id.split(":", 1)[1],
                    status=CheckStatus.ERROR,
                    summary=reason,
                    node_id=root_id,
                )
            )
            for root_id, (check, reason) in self._load_errors.items()
        ]

    async def discover_target(self, root_id: str) -> Node:
        """One target's tree again, when its backend said something changed."""
        await self._load_sdks()  # a change feed may answer before the first sweep has
        return await self._discover_one(self._providers[root_id])

    async def _discover_one(self, provider: Provider) -> Node:
        tree = await self._discover_raw(provider)
        # In a thread: 2,000 pods' reasons cost the event loop ~20 ms otherwise.
        return await asyncio.to_thread(self._redacted_tree, tree)

    def _redacted_tree(self, tree: Node) -> Node:
        # A new set, not one changed in place: another thread may be reading the old one.
        self._secret_like_names = self._secret_like_names | names_in(tree)
        return redact_node(tree, self._secret_like_names)

    async def _discover_raw(self, provider: Provider) -> Node:
        await self._load_sdks(provider.kind)
        try:
            async with asyncio.timeout(provider.timeout + GRACE_SECONDS):
                return await provider.discover()
        except TimeoutError:
            reason = f"{provider.address}: no answer within {provider.timeout:g}s"
        except Exception as error:  # a provider bug shows in the tree, not as a crash
            reason = provider.describe_error(error)
        return Node(
            id=provider.root_id,
            kind=provider.kind,
            name=f"{provider.target.name} ({provider.address})",
            status=Status(Health.FAILING, reason),
            checks=provider.root_checks(),
        )

    async def run_checks(
        self, planned: Iterable[PlannedCheck], *, at_once: int | None = None
    ) -> list[CheckResult]:
        """Run checks concurrently (at most `at_once` together); results in the order asked."""
        gate = asyncio.Semaphore(at_once) if at_once is not None else None
        return list(await asyncio.gather(*(self._gated(item, gate) for item in planned)))

    async def run_check(self, item: PlannedCheck) -> CheckResult:
        named = secret_like_names([*item.call.params.values(), *item.node_id.split("/")])
        if not named <= self._secret_like_names:
            self._secret_like_names = self._secret_like_names | named
        return redact_result(await self._run_check_raw(item), self._secret_like_names)

    async def _run_check_raw(self, item: PlannedCheck) -> CheckResult:
        provider = self.provider_for(item.node_id)
        await self._load_sdks(provider.kind)
        try:
            async with asyncio.timeout(provider.timeout + GRACE_SECONDS):
                return await provider.run_check(item.call, node_id=item.node_id)
        except TimeoutError:
            return CheckResult(
                check=item.call.check,
                target=provider.target.name,
                status=CheckStatus.ERROR,
                summary=f"{provider.address}: no answer within {provider.timeout:g}s",
                facts={"error": "timeout", "reason": "timeout", "address": provider.address},
                duration=provider.timeout,
                node_id=item.node_id,
            )

    async def check_everything(
        self,
        on_tree: Callable[[Node], None] | None = None,
        *,
        worth_checking: Callable[[Node, int], bool] | None = None,
        at_once: int | None = None,
        leave_out: frozenset[str] = frozenset(),
    ) -> tuple[list[Node], list[CheckResult]]:
        """Discover and check every node (or those `worth_checking(node, depth)`), but the
        checks named in `leave_out` (for a diagnosis: samples that take a second).

        The targets' own checks start with discovery rather than after it, so an unreachable
        host costs one timeout, not two; a read they share is made once (providers/sweep.py).
        `at_once` bounds how many of the children's checks run together (2,000 pods must not
        open 2,000 connections).
        """
        root_checks = [
            PlannedCheck(provider.root_id, call)
            for provider in self._providers.values()
            for call in provider.root_checks()
        ]
        gate = asyncio.Semaphore(at_once) if at_once is not None else None

        async def children_of(tree: Node) -> list[CheckResult]:
            planned = [
                PlannedCheck(node.id, call)
                for node, depth in _below(tree)
                if worth_checking is None or worth_checking(node, depth)
                for call in node.checks
                if call.check not in leave_out
            ]
            return list(await asyncio.gather(*(self._gated(item, gate) for item in planned)))

        with one_sweep():  # what discovery reads, the checks of this sweep reuse
            # Each target's children are checked as soon as its own tree is known: a target
            # that takes its timeout to answer delays nobody else's checks.
            child_results: list[CheckResult] = []

            async def discovered_then_checked() -> list[Node]:
                waiting: list[asyncio.Future[list[CheckResult]]] = []

                def start(tree: Node) -> None:
                    if on_tree is not None:
                        on_tree(tree)
                    waiting.append(asyncio.ensure_future(children_of(tree)))

                nodes = await self.discover(start)
                for found in await asyncio.gather(*waiting):
                    child_results.extend(found)
                return nodes

            nodes, root_results = await asyncio.gather(
                discovered_then_checked(), self.run_checks(root_checks)
            )
        return nodes, [*root_results, *child_results, *self._unusable_results()]

    async def check_each_target(
        self,
        on_checked: Callable[[TargetChecked], None],
        *,
        targets_at_once: int = TARGETS_AT_ONCE,
        at_once: int | None = None,
    ) -> None:
        """Discover and check every target, `targets_at_once` at a time, and hand each one to
        `on_checked` as soon as it is done (its tree and all its results, children's too);
        then its connections are closed. What a 76,000-target inventory holds at any moment
        is then that many targets' work, and the first ones are said within a second.

        A target that cannot be used (its URL, its provider) comes first, as a failing tree
        with one error. `at_once` bounds the children's checks running together, over all
        targets."""
        providers = list(self._providers.values())  # made first: it finds the unusable ones
        for tree, result in zip(self._unusable_trees(), self._unusable_results(), strict=True):
            on_checked(TargetChecked(tree, (result,)))
        gate = asyncio.Semaphore(at_once) if at_once is not None else None
        running: set[asyncio.Future[TargetChecked]] = set()

        async def hand_over_done() -> None:
            nonlocal running
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                on_checked(finished.result())

        try:
            for provider in providers:
                running.add(asyncio.ensure_future(self._check_target(provider, gate)))
                if len(running) >= targets_at_once:
                    await hand_over_done()
            while running:
                await hand_over_done()
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _gated(self, item: PlannedCheck, gate: asyncio.Semaphore | None) -> CheckResult:
        """One check, waiting its turn at `gate` when there is one."""
        if gate is None:
            return await self.run_check(item)
        async with gate:  # a check's timeout starts when it runs, not while it waits
            return await self.run_check(item)

    async def _check_target(
        self, provider: Provider, gate: asyncio.Semaphore | None
    ) -> TargetChecked:
        """One target discovered and checked, its own checks while it is being discovered,
        in a sweep of its own (what its discovery read, its checks reuse; then it is freed)."""
        try:
            with one_sweep():
                own = [PlannedCheck(provider.root_id, call) for call in provider.root_checks()]
                tree, own_results = await asyncio.gather(
                    self._discover_one(provider), self.run_checks(own)
                )
                planned = [
                    PlannedCheck(node.id, call) for node, _ in _below(tree) for call in node.checks
                ]
                children = await asyncio.gather(*(self._gated(item, gate) for item in planned))
        finally:
            with contextlib.suppress(Exception):  # closing is best effort, as in close()
                await provider.close()
        return TargetChecked(tree, (*own_results, *children))

    async def close(self) -> None:
        made = list((self._made or {}).values())  # never made: nothing to close
        for start in range(0, len(made), TARGETS_AT_ONCE):  # not 76,000 tasks at once
            closing = (provider.close() for provider in made[start : start + TARGETS_AT_ONCE])
            await asyncio.gather(*closing, return_exceptions=True)
