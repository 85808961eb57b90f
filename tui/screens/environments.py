"""Choosing what to watch, from the keyboard: the environment, kube context, AWS profile, region,
Docker context.

The environments are the inventory's; the contexts, profiles and regions are read from the
kubeconfig, the AWS config files and Docker's contexts in a thread (names only: no address, no
credential), so the dialog opens at once and its context sections appear when the files have
been read.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from providers.contexts import ContextChoices, follows_docker_context
from providers.environment import LiveEnvironment
from tui.commands import PICKER_COMMANDS, bindings
from tui.widgets.key_footer import KeyFooter

# What dismissing with a choice returns: (section, name), a section being one of these.
SECTIONS = {
    "environment": "Environment",
    "kube": "Kubernetes context (every Kubernetes target)",
    "aws-profile": "AWS profile (every ECS/AWS target)",
    "aws-region": "AWS region",
    "docker": "Docker context (every compose target without a url)",
}
KINDS = {"kube": "kubernetes", "aws-profile": "ecs", "aws-region": "ecs", "docker": "compose"}
# Where each section's names come from, for a picker that found none (names only are read).
LOOKED_IN = {
    "kube": "contexts come from $KUBECONFIG, else ~/.kube/config",
    "aws-profile": "profiles come from ~/.aws/config and ~/.aws/credentials",
    "docker": "contexts come from $DOCKER_CONFIG, else ~/.docker",
}


class EnvironmentPicker(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (section, name) for the chosen line, or None."""

    BINDINGS = bindings(PICKER_COMMANDS)

    @dataclass
    class ChoicesRead(Message):
        choices: ContextChoices
        in_use: dict[str, tuple[str, ...]]

    def __init__(self, live: LiveEnvironment, *, start: str = "environment") -> None:
        super().__init__()
        self.live = live
        self.inventory = live.inventory
        self.current = live.name
        self.start = start
        self.choices: ContextChoices | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="environment-dialog"):
            yield Label(f"Switch what triage watches ({self.inventory.source or 'inventory'})")
            yield OptionList(*self._environment_options(), id="environment-list")
        yield KeyFooter()

    def _environment_options(self) -> list[Option]:
        options = [_heading("environment")]
        for name, environment in self.inventory.environments.items():
            count = len(environment.targets)
            marks = [f"{count} target{'' if count == 1 else 's'}"]
            if environment.read_only:
                marks.append("read-only")
            if name == self.current:
                marks.append("current")
            text = f"  {name}  ({', '.join(marks)})"
            if environment.description:
                text += f"  {environment.description}"
            options.append(Option(text, id=f"environment:{name}"))
        return options

    def on_mount(self) -> None:
        self._highlight(f"environment:{self.current}")
        self.query_one(OptionList).focus()
        if any(self._switches(section) for section in KINDS):
            self.read_choices()
        elif self.start != "environment":
            self._say_nothing_to_switch()

    def _switches(self, section: str) -> bool:
        """Whether a choice in `section` changes a target of this environment."""
        targets = self.live.targets_of(KINDS[section])
        if section == "docker":
            return any(follows_docker_context(target) for target in targets)
        return bool(targets)

    def _say_nothing_to_switch(self) -> None:
        """`C` with no target to switch: what would be listed, and why not."""
        options = self.query_one(OptionList)
        name = self.live.name
        for section, kind in (
            ("kube", "Kubernetes target"),
            ("aws-profile", "ECS/AWS target"),
            ("docker", "compose target without a url"),
        ):
            options.add_option(_heading(section))
            options.add_option(_note(f"none: {name} has no {kind} to switch"))
            options.add_option(_note(LOOKED_IN[section]))

    @work(thread=True, exclusive=True, group="context-choices", exit_on_error=False)
    def read_choices(self) -> None:
        self.post_message(self.ChoicesRead(self.live.context_choices(), self.live.read_contexts()))

    def on_environment_picker_choices_read(self, message: ChoicesRead) -> None:
        self.choices = message.choices
        options = self.query_one(OptionList)
        names = {
            "kube": list(message.choices.kube_contexts),
            "aws-profile": list(message.choices.aws_profiles),
            "aws-region": list(message.choices.aws_regions),
            "docker": list(message.choices.docker_contexts),
        }
        for section, values in names.items():
            if not self._switches(section):
                continue
            options.add_option(_heading(section))
            in_use = message.in_use.get(section, ())
            for value in values:
                marks = []
                region = message.choices.aws_profiles.get(value) if section == "aws-profile" else ""
                if region:
                    marks.append(region)
                if section == "docker" and message.choices.docker_contexts.get(value):
                    marks.append(message.choices.docker_contexts[value])
                if value in in_use:
                    marks.append("current")
                text = f"  {value}" + (f"  ({', '.join(marks)})" if marks else "")
                options.add_option(Option(text, id=f"{section}:{value}"))
            if not values:
                looked = LOOKED_IN.get(section)
                options.add_option(_note(f"none found; {looked}" if looked else "none found"))
        for problem in message.choices.unreadable:
            options.add_option(Option(Text(f"  {problem}", style="dim"), disabled=True))
        if self.start != "environment":
            in_use = message.in_use.get(self.start, ())
            first = next(
                (o.id for o in options.options if o.id and o.id.startswith(f"{self.start}:")), None
            )
            self._highlight(f"{self.start}:{in_use[0]}" if in_use else first)

    def _highlight(self, option_id: str | None) -> None:
        options = self.query_one(OptionList)
        ids = [option.id for option in options.options]
        if option_id in ids:
            options.highlighted = ids.index(option_id)
        else:
            options.action_first()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        section, _, name = str(event.option.id).partition(":")
        self.dismiss((section, name))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _heading(section: str) -> Option:
    return Option(Text(SECTIONS[section], style="bold"), disabled=True)


def _note(text: str) -> Option:
    return Option(Text(f"  {text}", style="dim"), disabled=True)
