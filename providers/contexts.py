"""Kube contexts, AWS profiles and regions, Docker contexts: which are in use, which there are,
and overrides.

The operator switches them at run time as `kubectl config use-context`, `AWS_PROFILE=...` or
`docker context use` would; a `ContextOverrides` is applied to the inventory's targets when the
environment's providers are made. Everything here reads names only (context, profile and region
names) from the kubeconfig, the AWS config files and Docker's contexts, never a server address
or a credential, and reads files: call it in a thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from providers.aws_session import aws_profiles
from providers.docker_contexts import current_context, docker_contexts
from providers.inventory import Target
from providers.kubernetes_client import kube_contexts, kubeconfig_paths


@dataclass(frozen=True, slots=True)
class ContextChoices:
    """What the context picker offers: names only, never an address or a credential."""

    kube_contexts: tuple[str, ...] = ()
    aws_profiles: dict[str, str] = field(default_factory=dict)  # profile -> its region
    aws_regions: tuple[str, ...] = ()
    docker_contexts: dict[str, str] = field(default_factory=dict)  # context -> its description
    unreadable: tuple[str, ...] = ()  # files that could not be read, and why


@dataclass(frozen=True, slots=True)
class ContextOverrides:
    """A kube context, AWS profile or region chosen at run time, over what the inventory says.

    It applies to every Kubernetes target (context) and every ECS/AWS target (profile, region)
    of the environment.
    """

    kube_context: str = ""
    aws_profile: str = ""
    aws_region: str = ""
    docker_context: str = ""  # every compose target that names no url (docker context use)

    def apply(self, target: Target) -> Target:
        changes: dict[str, str] = {}
        if target.kind == "kubernetes" and self.kube_context:
            changes["context"] = self.kube_context
        if follows_docker_context(target) and self.docker_context:
            changes["context"] = self.docker_context
        if target.kind == "ecs":
            changes.update(
                (key, value)
                for key, value in (("profile", self.aws_profile), ("region", self.aws_region))
                if value
            )
        if not changes:
            return target
        return target.model_copy(update={"options": {**target.options, **changes}})

    def choose(self, section: str, value: str, choices: ContextChoices) -> ContextOverrides:
        """The overrides after choosing `value` in a section of the picker.

        A profile brings its own region when its config names one, as the AWS CLI does.
        """
        if section == "kube":
            return replace(self, kube_context=value)
        if section == "aws-profile":
            region = choices.aws_profiles.get(value) or self.aws_region
            return replace(self, aws_profile=value, aws_region=region)
        if section == "aws-region":
            return replace(self, aws_region=value)
        if section == "docker":
            return replace(self, docker_context=value)
        raise ValueError(f"no context section named {section!r}")


def contexts_in_use(targets: Iterable[Target]) -> dict[str, tuple[str, ...]]:
    """The kube contexts, AWS profiles and regions, Docker contexts these targets use, by
    picker section."""
    targets = list(targets)
    kube = {_kube_context(t) for t in targets if t.kind == "kubernetes"}
    aws = {_aws_profile_region(t) for t in targets if t.kind == "ecs"}
    docker = {_docker_context(t) for t in targets if follows_docker_context(t)}
    return {
        "kube": tuple(sorted(kube)),
        "aws-profile": tuple(sorted({profile for profile, _ in aws})),
        "aws-region": tuple(sorted({region for _, region in aws})),
        "docker": tuple(sorted(docker)),
    }


def context_line(contexts: dict[str, tuple[str, ...]]) -> str:
    """`kube prod-eu · aws ops/eu-west-1 · docker app-1`, for a header; "" without such
    targets."""
    parts = []
    if contexts.get("kube"):
        parts.append(f"kube {','.join(contexts['kube'])}")
    if contexts.get("aws-profile"):
        regions = ",".join(contexts["aws-region"])
        parts.append(f"aws {','.join(contexts['aws-profile'])}/{regions}")
    if contexts.get("docker"):
        parts.append(f"docker {','.join(contexts['docker'])}")
    return " · ".join(parts)


def context_choices(targets: Iterable[Target]) -> ContextChoices:
    """Every kube context of the targets' kubeconfigs, every AWS profile and the regions named."""
    targets = list(targets)
    unreadable: list[str] = []
    contexts: list[str] = []
    for target in (t for t in targets if t.kind == "kubernetes"):
        try:
            names, _ = kube_contexts(kubeconfig_paths(target.options))
        except ValueError as error:
            unreadable.append(str(error))
            continue
        contexts += [name for name in names if name not in contexts]
    ecs = [t for t in targets if t.kind == "ecs"]
    profiles: dict[str, str] = {}
    if ecs:
        try:
            profiles = aws_profiles()
        except ValueError as error:
            unreadable.append(str(error))
    regions = {region for region in profiles.values() if region}
    regions |= {str(t.options["region"]) for t in ecs if t.options.get("region")}
    docker: dict[str, str] = {}
    if any(follows_docker_context(t) for t in targets):
        docker, problems = docker_contexts()
        unreadable += problems
    return ContextChoices(
        tuple(contexts), profiles, tuple(sorted(regions)), docker, tuple(unreadable)
    )


def follows_docker_context(target: Target) -> bool:
    """A compose target without a url: its engine is a Docker context's, which can switch."""
    return target.kind == "compose" and target.url is None


def _docker_context(target: Target) -> str:
    return str(target.options.get("context") or current_context())


def _kube_context(target: Target) -> str:
    if target.options.get("context"):
        return str(target.options["context"])
    try:
        return kube_contexts(kubeconfig_paths(target.options))[1] or "?"
    except ValueError:  # the picker lists the file and why; a header stays one line
        return "?"


def _aws_profile_region(target: Target) -> tuple[str, str]:
    profile = str(target.options.get("profile") or os.environ.get("AWS_PROFILE") or "default")
    region = str(
        target.options.get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or ""
    )
    if not region:
        try:
            region = aws_profiles().get(profile, "")
        except ValueError:  # the picker lists the file and why; a header stays one line
            region = ""
    return profile, region or "?"
