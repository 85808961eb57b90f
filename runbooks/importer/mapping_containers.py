"""Rules for container commands: docker, docker compose / docker-compose, kubectl.

Keyed to the shape of the command (its verb, resource and options), never to a guide's names.
`kubectl get pods` shows unready pods and why they wait; `kubectl describe pod` adds the warning
events; a workload's name, a pod, a selector and a namespace are read from the command.
"""

from __future__ import annotations

import re

from runbooks.importer.commands import Command
from runbooks.importer.ruletypes import Arg, Extractor, Rule, found, option

_PODS = r"(?:pods?|po)\b"
_WORKLOAD = r"(?:deployments?|deploy|statefulsets?|sts|daemonsets?|ds)\b"

CONTAINER_RULES: list[Rule] = [
    # Docker Compose and Docker
    Rule("compose", r"\bps\b", "compose.running", args=("service",)),
    Rule(
        "compose",
        r"--scale[\s=]|\bscale\s+[\w.-]+=",
        action="compose.scale",
        args=("scale_service", "scale_replicas", "compose_project"),
    ),
    Rule("compose", r"\bdown\b", action="compose.down", args=("compose_project", "down_volumes")),
    Rule("compose", r"\brestart\b", action="compose.restart_service", args=("service",)),
    Rule("compose", r"\b(?:up|start)\b", action="compose.start_service", args=("service",)),
    Rule("compose", r"\bstop\b", action="compose.stop_service", args=("service",)),
    Rule("compose", r"\btop\b", "compose.resources", args=("service",)),
    Rule("docker", r"^docker\s+(?:system|image|volume|container)\s+prune\b", "", "compose.prune"),
    Rule("docker", r"^docker\s+(?:ps|container\s+ls)\b", "compose.running"),
    Rule("docker", r"^docker\s+(?:container\s+)?stats\b", "compose.resources", args=("container",)),
    Rule("docker", r"^docker\s+(?:container\s+)?inspect\b", "compose.restart_loop"),
    Rule("docker", r"^docker\s+(?:system\s+)?df\b", "compose.disk_usage"),
    Rule("docker", r"^docker\s+(?:container\s+)?restart\b", action="compose.restart_service"),
    Rule("watch", r"docker\s+stats\b", "compose.resources"),
    Rule("df", r"^df\b", "compose.disk_usage"),  # free space on the engine's disk
    # Kubernetes
    Rule(
        "kubectl",
        rf"\bdescribe\s+(?:{_PODS}|pods?/)",
        "k8s.pod_waiting_reasons",
        args=("namespace", "selector", "pod", "event_name", "event_kind"),
        also=("k8s.warning_events",),
    ),
    Rule(
        "kubectl",
        rf"\bget\s+{_PODS}.*\bstatus\.phase[=\s]+pending\b",
        "k8s.pending_pods",
        args=("namespace", "selector", "pod"),
    ),
    Rule(
        "kubectl",
        rf"\bget\s+(?:{_PODS}|pods?/)",
        "k8s.unready_pods",
        args=("namespace", "selector", "pod"),
        also=("k8s.pod_waiting_reasons",),
    ),
    Rule(
        "kubectl", r"\btop\s+(?:pods?|po)\b", "k8s.resource_usage", args=("namespace", "selector")
    ),
    Rule(
        "kubectl",
        r"\bget\s+(?:hpa|horizontalpodautoscalers?)\b",
        "k8s.hpa_at_max",
        args=("namespace", "k8s_name"),
    ),
    Rule(
        "kubectl",
        r"\b(?:get|describe)\s+(?:endpoints?|ep|svc|services?)\b",
        "k8s.service_endpoints",
        args=("namespace", "k8s_name"),
    ),
    Rule(
        "kubectl",
        r"\b(?:get|describe)\s+(?:secrets?|configmaps?|cm)\b",
        "k8s.missing_references",
        args=("namespace", "selector"),
    ),
    Rule(
        "kubectl",
        r"\b(?:get\s+(?:events?|ev)\b|events\b)",
        "k8s.warning_events",
        args=("namespace",),
    ),
    Rule(
        "kubectl",
        rf"\b(?:rollout\s+status|(?:get|describe)\s+{_WORKLOAD})",
        "k8s.deployment_replicas",
        args=("namespace", "k8s_name", "kind"),
    ),
    Rule(
        "kubectl",
        r"\bscale\s+",
        action="k8s.scale",
        args=("namespace", "k8s_name", "kind", "replicas"),
    ),
    Rule(
        "kubectl",
        r"\brollout\s+restart\b",
        action="k8s.rollout_restart",
        args=("namespace", "k8s_name", "kind"),
    ),
    Rule(
        "kubectl",
        rf"\bdelete\s+(?:{_PODS}|pods?/)",
        action="k8s.delete_pod",
        args=("namespace", "pod"),
    ),
]
CONTAINER_NO_CHECK: list[tuple[str, str, str]] = [
    ("compose", r"\bdown\b.*\s--rmi\b", "also removes images: no action does"),
    ("compose", r"--scale\b.*\s--scale\b", "scales several services: one compose.scale each"),
    ("compose", r"\b(?:build|pull|push|config)\b", "builds or shows configuration: no check"),
    ("docker", r"^docker\s+(?:build|pull|push|login|tag)\b", "builds or ships images: no check"),
]

# Options of kubectl that take a value (not a positional word).
_KUBECTL_VALUED = {
    "-n",
    "--namespace",
    "-l",
    "--selector",
    "-o",
    "--output",
    "-c",
    "--container",
    "--context",
    "--tail",
    "--since",
    "--replicas",
    "-f",
    "--filename",
    "--field-selector",
    "--sort-by",
    "--timeout",
    "--kubeconfig",
}
_KINDS = {
    "po": "pod",
    "pods": "pod",
    "deploy": "deployment",
    "deployments": "deployment",
    "sts": "statefulset",
    "statefulsets": "statefulset",
    "ds": "daemonset",
    "daemonsets": "daemonset",
    "svc": "service",
    "services": "service",
    "ep": "endpoints",
    "horizontalpodautoscalers": "hpa",
    "horizontalpodautoscaler": "hpa",
}


def _positional(words: list[str]) -> list[str]:
    out: list[str] = []
    index = 1
    while index < len(words):
        word = words[index]
        if word in {"|", "&&", ";", "||", ">", ">>"}:
            break
        if word in _KUBECTL_VALUED:
            index += 2
            continue
        if not word.startswith("-"):
            out.append(word)
        index += 1
    return out


def k8s_object(command: Command) -> tuple[str, str]:
    """(kind, name) of the object a kubectl command names: `scale deployment api`,
    `rollout restart deployment/api`, `describe pod web-1`; empty strings when not named."""
    if command.tool != "kubectl":
        return "", ""
    words = _positional(command.words)
    verb = words[0] if words else ""
    rest = words[2:] if verb == "rollout" else words[1:]
    if not rest:
        return "", ""
    if "/" in rest[0]:
        kind, _, name = rest[0].partition("/")
    elif verb == "logs":
        kind, name = "pod", rest[0]
    else:
        kind, name = rest[0], rest[1] if len(rest) > 1 else ""
    kind = kind.lower()
    return _KINDS.get(kind, kind), name


def _workload_kind(command: Command) -> Arg | None:
    kind = k8s_object(command)[0]
    return Arg(kind) if kind in {"statefulset", "daemonset"} else None


def _replicas(command: Command) -> Arg | None:
    value = option(command.words, "--replicas")
    return Arg(int(value), "replicas") if value and value.isdigit() else found(value, "replicas")


def compose_service(command: Command) -> Arg | None:
    """The service a compose command names: `restart api`, `up -d api`, `logs -f worker`."""
    verbs = {"restart", "up", "start", "stop", "ps", "top", "logs", "exec"}
    words = command.words
    verb = next((i for i, w in enumerate(words) if w in verbs), -1)
    index = verb + 1
    while 0 < index < len(words):
        word = words[index]
        if word in {"|", "&&", ";", ">", "||"}:
            return None
        if word.isdigit() and words[index + 1 : index + 2] in ([">"], [">>"]):
            return None  # `2>&1`: a redirection, not a service
        if word in {"--scale", "-t", "--timeout", "--tail", "--since"}:
            index += 2
            continue
        if not word.startswith("-"):
            return found(word, "service")
        index += 1
    return None


def _scaled(command: Command) -> tuple[str, str] | None:
    """(service, replicas) of `up --scale api=3`, `--scale=api=3` or `scale api=3`."""
    words = command.words
    for index, word in enumerate(words):
        value = None
        if word == "--scale" or (word == "scale" and "--scale" not in words):
            value = words[index + 1] if index + 1 < len(words) else None
        elif word.startswith("--scale="):
            value = word.removeprefix("--scale=")
        service, sep, replicas = (value or "").partition("=")
        if sep and service and replicas:
            return service, replicas
    return None


def _scale_replicas(command: Command) -> Arg | None:
    scaled = _scaled(command)
    if scaled is None:
        return None
    replicas = scaled[1]
    return Arg(int(replicas), "replicas") if replicas.isdigit() else found(replicas, "replicas")


def _down_volumes(command: Command) -> Arg | None:
    """`down -v` / `down --volumes`: the named volumes go too."""
    words = command.words
    after = words[words.index("down") + 1 :] if "down" in words else []
    return Arg(True) if any(w in {"-v", "--volumes", "--volumes=true"} for w in after) else None


def _pod(command: Command) -> Arg | None:
    kind, name = k8s_object(command)
    return found(name, "pod") if kind == "pod" else None


def _k8s_name(command: Command) -> Arg | None:
    """The workload, service or autoscaler a command names (its runbook parameter by kind)."""
    kind, name = k8s_object(command)
    if kind == "pod":
        return None
    if kind in {"service", "endpoints"}:
        return found(name, "service")
    return found(name, "hpa" if kind == "hpa" else "deployment")


def _container(command: Command) -> Arg | None:
    """The container `docker stats NAME` names."""
    words = command.words[1:]
    words = words[1:] if words[:1] == ["container"] else words
    names = [word for word in words[1:] if not word.startswith("-")]
    if names and re.fullmatch(r"[\w.-]+", names[0]):
        return found(names[0], "container")
    return None


CONTAINER_EXTRACTORS: dict[str, Extractor] = {
    "namespace": lambda c: found(option(c.words, "-n", "--namespace"), "namespace"),
    "selector": lambda c: found(option(c.words, "-l", "--selector"), "selector"),
    "pod": _pod,
    "k8s_name": _k8s_name,
    "kind": _workload_kind,
    "replicas": _replicas,
    "event_name": _pod,
    "event_kind": lambda c: Arg("Pod") if _pod(c) else None,
    "container": _container,
    "scale_service": lambda c: found(s[0], "service") if (s := _scaled(c)) else None,
    "scale_replicas": _scale_replicas,
    "compose_project": lambda c: found(option(c.words, "-p", "--project-name"), "project"),
    "down_volumes": _down_volumes,
}
# Check parameters named differently from their extractor.
CONTAINER_ARG_NAMES = {
    "k8s_name": "name",
    "event_name": "name",
    "event_kind": "kind",
    "scale_service": "service",
    "scale_replicas": "replicas",
    "compose_project": "project",
    "down_volumes": "volumes",
}
