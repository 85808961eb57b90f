"""What a command is for, when it is not diagnosing or fixing a running system.

The import report measures two shares: of all the commands of symptom sections, and of the
diagnostic ones: those that look at or act on the systems triage talks to (services, databases,
queues, clusters, cloud APIs, the host's state). The others are told apart by what the command
does, never by a guide's names: provisioning with infrastructure-as-code tools, building or
shipping images, editing or writing local files, installing tools or setting up the host,
waiting, and making a value. Reading a local file or the host's state stays diagnostic.
"""

from __future__ import annotations

import re

from runbooks.importer.commands import Command, tokenize

INFRASTRUCTURE = "provisions infrastructure as code"
IMAGES = "builds or ships images"
FILES = "edits or writes local files"
SETUP = "installs tools or sets up the host"
WAITS = "waits"
VALUE = "makes a value"

_IAC = {"terraform", "tofu", "pulumi", "cdk", "cdktf", "terragrunt"}
_EDITORS = {"nano", "vi", "vim", "emacs", "cp", "mv", "chmod", "chown", "mkdir", "touch", "tee"}
_INSTALLERS = {"apt", "apt-get", "yum", "dnf", "apk", "brew", "choco", "snap"}
_HOST_SETUP = {"fallocate", "mkswap", "swapon", "swapoff", "certbot"}
_IMAGE_VERBS = {"build", "buildx", "pull", "push", "login", "tag"}


def _compose_verb(words: list[str]) -> str:
    rest = words[2:] if words[:2] == ["docker", "compose"] else words[1:]
    verbs = [word for word in rest if not word.startswith("-")]
    return verbs[0] if verbs else ""


def _writes_a_file(text: str) -> bool:
    """Standard output redirected to a file (`> out.sql`, `>> .dockerignore`), not to
    /dev/null and not `2>&1`."""
    tokens = [token.value for token in tokenize(re.sub(r"[\\`]\n", " ", text))]
    for index, value in enumerate(tokens[:-1]):
        if value in {">", ">>"} and tokens[index + 1] not in {"&", "/dev/null"}:
            previous = tokens[index - 1] if index else ""
            if not (previous.isdigit() and previous != "1"):  # `2> err.log` is a log of errors
                return True
    return False


def purpose(command: Command) -> str:
    """ "" for a diagnostic command (or a fix of a running system), else what it is for."""
    words = command.words
    head = words[0] if words else ""
    if head in _IAC:
        return INFRASTRUCTURE
    if head == "docker" and words[1:2] and words[1] in _IMAGE_VERBS:
        return IMAGES
    if command.tool == "compose" and _compose_verb(words) in {"build", "pull", "push"}:
        return IMAGES
    if head in _EDITORS or (head == "sed" and "-i" in words) or head == "rm":
        return FILES
    if head == "find" and "-delete" in words:
        return FILES
    if head in _INSTALLERS or (head in {"pip", "pip3", "npm"} and "install" in words):
        return SETUP
    if head in _HOST_SETUP:
        return SETUP
    if head in {"curl", "wget"} and {"-o", "-O", "--output"} & set(words):
        return SETUP  # downloads a file (a binary, a script) onto the host
    if head == "sleep":
        return WAITS
    if words[:2] == ["openssl", "rand"] or head in {"uuidgen", "pwgen"}:
        return VALUE
    if _writes_a_file(command.text):
        return FILES
    return ""
