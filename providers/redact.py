"""Redaction: secret-shaped values masked in whatever a provider returns, where it enters the app.

The environment (providers/environment.py) redacts every tree and check result, the log batches
(providers/streams.py) every log line; what leaves the app (the report bundle, the audit log,
transcripts) passes through here again.

A module of our own: secret scanners (detect-secrets, gitleaks' rules, trufflehog) find secrets
in files to stop a commit; they say where one is, not how to keep the rest of a line readable,
and their keyword rules take whatever follows a name ending in `secret` or `token` for a value,
which in a status line is a container's name (`sec-secret: container exited`) as often as not.

Two kinds of rule:
- shapes, masked wherever they appear: JWTs, AWS key ids, GitHub, Slack, Stripe and `sk-` keys,
  PEM private keys, bearer and basic credentials, a URL's password;
- names: the value after a name ending in a secret word (`DB_PASSWORD`, `client_secret`,
  `x-api-key`). After `=` it is always a value. After `:` it is masked only when it looks like
  one (a digit, mixed case, symbols, quotes, length, the end of the text), not when prose
  follows (`token: expired`, `sec-secret: no container exited with an error`); and never after
  a name the environment knows as an entity's (`names`): an identifier is not a key.

Every rule says which lowercase texts a match must hold, so a line without any of them costs a
few substring searches, not a dozen regular expressions: a log flood stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from providers.contract import CheckResult, LogLine, Node

MASK = "***"

# The secret words a name ends in, for any case and any of `_`, `-` or nothing between parts.
_SECRET_WORDS = (
    r"(?:secret|password|passwd|token|api[_-]?key|private[_-]?key|access[_-]?key"
    r"|secret[_-]?key)"
)
# Lowercase texts one of which a name ending in a secret word holds.
_NAME_TEXTS = (
    "secret",
    "passw",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "private",
    "accesskey",
    "access_key",
    "access-key",
)
# A value that is not a string: masked too (a numeric PIN), unless it says only that the secret
# is missing or set (null, true, false).
_BARE_VALUE = r"(?!(?:null|true|false)\b)[-+.\w]+"
# JSON members `"name": "value"` (and 'name': 'value') whose name ends in a secret word; a
# string's escapes (\") are part of it. An empty string stays: it hides nothing.
_JSON_MEMBER = re.compile(
    rf"(?i)(?P<key>(?P<q>[\"'])[^\"'\s\\]*{_SECRET_WORDS}(?P=q)\s*:\s*)"
    rf"(?:(?P=q)(?:\\.|(?!(?P=q))[^\\\n])+(?P=q)|{_BARE_VALUE})"
)
# The same members in JSON carried inside a JSON string (a log line's message):
# {\"password\": \"value\"}, where \\\" is a quote and \\\\ a backslash of the value.
_ESCAPED_JSON_MEMBER = re.compile(
    rf"(?i)(?P<key>(?P<q>\\\")[^\"'\s\\]*{_SECRET_WORDS}\\\"\s*:\s*)"
    rf"(?:\\\"(?:\\\\\\\\|\\\\\\\"|(?!\\\")[^\n])+\\\"|{_BARE_VALUE})"
)
_VALUE = r"(?P<value>\"(?:\\.|[^\"\\\n])*\"|'[^'\n]*'|\S+)"
# Environment-style names: DB_PASSWORD=value, STRIPE_SECRET_KEY: value, SECRET_KEY_BASE=value.
# Both match from the secret word on; the name's start is found by looking back from it
# (`_named`), which costs far less than a regex trying every word as a name's start.
_ENV_NAME = re.compile(
    r"(?:SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY)(?:_[A-Z0-9]+)*"
    rf"(?P<sep>[ \t]*[=:][ \t]*){_VALUE}"
)
# Any case, the name ending in the word: password: x, client_secret=x, api-key: x, db.password=x
# (not `secretsmanager:GetSecretValue`, where the word is only a prefix).
_ANY_NAME = re.compile(rf"(?i){_SECRET_WORDS}(?![a-z0-9])(?P<sep>[ \t]*[=:][ \t]*){_VALUE}")
# Words that, as the last word after `name:`, tell of a secret's or an entity's state.
_STATE_WORDS = frozenset((
    "expired", "invalid", "valid", "missing", "required", "revoked", "rotated", "refreshed",
    "set", "unset", "none", "null", "empty", "true", "false", "yes", "no", "not", "ok",
    "present", "absent", "found", "denied", "rejected", "accepted", "redacted", "hidden",
    "masked", "unknown", "error", "failed", "configured", "provided", "ignored", "disabled",
    "enabled", "healthy", "unhealthy", "running", "stopped", "exited", "starting", "restarting",
    "paused", "dead", "created", "removed", "ready", "pending", "failing", "degraded",
    "terminated", "completed",
))  # fmt: skip
_PROSE_END = ".,;:!?)]}"
_COUNT = re.compile(r"[0-9][0-9.,/%]*")
_JWT = re.compile(r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_PEM = re.compile(
    r"(?P<begin>-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)"
    r"(?:.*?(?P<end>-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)|.*)",
    re.DOTALL,
)
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# Authorization: Bearer <token> / Basic <base64>; "basic authentication" is prose.
_SCHEME = re.compile(r"(?i)\b(?P<scheme>bearer|basic)(?P<gap>\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")


@dataclass(frozen=True, slots=True)
class _Rule:
    """A rule, the lowercase texts one of which any match holds, and whether it is a shape
    (masked wherever it appears, in names too)."""

    needs: tuple[str, ...]
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str] | None  # None: by name, see _named
    shape: bool = False


def _mask_member(match: re.Match[str]) -> str:
    quote = match.group("q")
    return f"{match.group('key')}{quote}{MASK}{quote}"


def _mask_pem(match: re.Match[str]) -> str:
    end = match.group("end") or ""
    return f"{match.group('begin')}{MASK}{end}"


def _mask_scheme(match: re.Match[str]) -> str:
    if not _looks_like_value(match.group("value"), last=False):
        return match.group(0)
    return f"{match.group('scheme')}{match.group('gap')}{MASK}"


def _mask_sk(match: re.Match[str]) -> str:
    tail = match.group("tail")
    has_digit = any(char.isdigit() for char in tail)
    mixed = tail.lower() != tail and tail.upper() != tail
    return MASK if has_digit or mixed else match.group(0)


_RULES: tuple[_Rule, ...] = (
    # A private key, begin to end (or to the end of the text, when cut short)
    _Rule(("-----begin",), _PEM, _mask_pem, shape=True),
    _Rule(("eyj",), _JWT, MASK, shape=True),
    _Rule(_NAME_TEXTS, _JSON_MEMBER, _mask_member),
    _Rule(_NAME_TEXTS, _ESCAPED_JSON_MEMBER, _mask_member),
    # SQL: PASSWORD 'secret' (CREATE/ALTER ROLE, a session's query text); before the name rules,
    # so a quoted password holding `=` or `:` is masked whole
    _Rule(("passw",), re.compile(r"(?i)\b(password)\s+E?'(?:[^']|'')*'"), rf"\1 '{MASK}'"),
    # scheme://user:password@host -> scheme://user:***@host
    _Rule(
        ("://",),
        re.compile(r"(?P<head>://[^\s:/@]*:)[^\s@/]+(?P<tail>@)"),
        rf"\g<head>{MASK}\g<tail>",
        shape=True,
    ),
    # libpq keyword DSNs: password=secret
    _Rule(
        ("passw", "pwd"),
        re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*('[^']*'|\S+)"),
        lambda match: f"{match.group(1)}={MASK}{_closing(match, match.group(2))}",
    ),
    _Rule(("bearer", "basic"), _SCHEME, _mask_scheme, shape=True),
    # AWS: a key id with its secret key beside it, a key id alone; secret keys and session
    # tokens by name. A bare 40-character secret key is not told from a SHA-1 or base64 data.
    _Rule(
        ("akia", "asia"),
        re.compile(
            r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b[\s:,;=|/\"']{1,3}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        MASK,
        shape=True,
    ),
    _Rule(("akia", "asia"), re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK, shape=True),
    _Rule(
        ("secret", "token"),
        re.compile(r"(?i)(aws_secret_access_key|aws_session_token)(\s*[=:]\s*)\S+"),
        rf"\1\2{MASK}",
    ),
    # API keys shaped like sk-..., sk_live_..., xoxb-..., ghp_..., github_pat_..., AIza...
    _Rule(
        ("sk-", "rk-"),
        re.compile(r"(?<![A-Za-z0-9_-])(?:sk|rk)-(?P<tail>[A-Za-z0-9_-]{20,})"),
        _mask_sk,
        shape=True,
    ),
    _Rule(
        ("sk_", "rk_", "whsec_"),
        re.compile(r"\b(?:(?:sk|rk)_(?:live|test)|whsec)_[A-Za-z0-9]{16,}"),
        MASK,
        shape=True,
    ),
    _Rule(("xox",), re.compile(r"\bxox[a-z]-[A-Za-z0-9-]{10,}"), MASK, shape=True),
    _Rule(
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{22,})"),
        MASK,
        shape=True,
    ),
    _Rule(("aiza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), MASK, shape=True),
    # Names ending in a secret word: upper-case environment names (which may go on after the
    # word: SECRET_KEY_BASE), then any case
    _Rule(_NAME_TEXTS, _ENV_NAME, None),
    _Rule(_NAME_TEXTS, _ANY_NAME, None),
)
# Every text some rule needs, and searches for them: a text holding none holds no secret we know.
# One search per first letter (`s(?:ecret|k-|k_)`): a literal first letter lets the regex engine
# skip ahead as `in` does, and 12 searches of a flood's batch of 3,000 lines take 2 ms where 31
# `in`s take 5 ms.
_ANY_NEED = tuple(dict.fromkeys(need for rule in _RULES for need in rule.needs))


def _probes(needs: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    by_first: dict[str, list[str]] = {}
    for need in needs:
        by_first.setdefault(need[0], []).append(re.escape(need[1:]))
    return tuple(
        re.compile(f"{re.escape(first)}(?:{'|'.join(sorted(rests, key=len, reverse=True))})")
        for first, rests in by_first.items()
    )


_PROBES = _probes(_ANY_NEED)


def _looks_like_value(token: str, *, last: bool) -> bool:
    """Whether the word after `name:` reads as a value rather than the start of prose."""
    if token[:1] in "\"'":
        return len(token) > 2  # an empty string hides nothing
    core = token.rstrip(_PROSE_END)
    if not core or core == MASK:
        return False
    if core.lower() in _STATE_WORDS:
        return False
    if not last and _COUNT.fullmatch(core):
        return False  # a count that prose goes on from: `0/1 running`, `3 restarts`
    if any(char.isdigit() for char in core):
        return True
    if any(not (char.isalpha() or char in "'-") for char in core):
        return True  # symbols: p@ss, a/b+c, key_1
    if any(char.isupper() for char in core[1:]) and any(char.islower() for char in core):
        return True  # hUnter, HunterTwo (Capitalised prose is not)
    return len(core) >= 16 or last


def _name_start(text: str, end: int, extra: str = "_-") -> int:
    """Where the name that ends at `end` starts: letters, digits and `extra` back from it."""
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in extra):
        start -= 1
    return start


def _closing(match: re.Match[str], value: str) -> str:
    """The backtick that closes a `quoted command` the value ends: not part of the value."""
    return "`" if value.endswith("`") and match.string.count("`", 0, match.start()) % 2 else ""


def _named(names: Collection[str]) -> Callable[[re.Match[str]], str]:
    def mask(match: re.Match[str]) -> str:
        whole, sep, value = match.group(0), match.group("sep"), match.group("value")
        text, start = match.string, _name_start(match.string, match.start())
        head = whole[: match.start("value") - match.start()]
        closing = _closing(match, value)
        if value.startswith(MASK):
            return whole  # masked already (a text redacted twice)
        if "=" in sep:
            return f"{head}{MASK}{closing}"
        if sep == ":" and start > 0 and text[start - 1] == ":":
            # a path of names: an ARN's `123456789012:secret:shop/db`, a key `session:token:a1`
            return whole
        if names and _known(text, start, match.start("sep"), names):
            return whole
        rest = match.string[match.end() :]
        # `name:value` with nothing between is an identifier's path as often as not
        # (secret/api-token:key): only a value-like word is taken for a value there.
        last = not rest.strip() and sep != sep.rstrip()
        return f"{head}{MASK}{closing}" if _looks_like_value(value, last=last) else whole

    return mask


def _known(text: str, start: int, end: int, names: Collection[str]) -> bool:
    """Whether the name before `:` is an entity's the environment knows (a container
    `sec-secret`), not a key; the name may go on before what the rule took (`my.sec-secret`)."""
    return text[start:end] in names or text[_name_start(text, end, "_.-") : end] in names


def _apply(
    text: str, names: Collection[str], *, shapes_only: bool, needs: Iterable[str] = _ANY_NEED
) -> str:
    lowered = text.lower()
    present = {need for need in needs if need in lowered}
    if not present:
        return text
    shown = text
    for rule in _RULES:
        if shapes_only and not rule.shape:
            continue
        if present.isdisjoint(rule.needs):
            continue
        replacement = rule.replacement if rule.replacement is not None else _named(names)
        shown = rule.pattern.sub(replacement, shown)
    return text if shown == text else shown  # the same object when nothing changed


def redact(text: str, names: Collection[str] = ()) -> str:
    """The text with every secret we know replaced by ***.

    `names`: identifiers the environment knows (entities' names ending in a secret word, from
    `secret_like_names`); `name: ...` after one of them is a status, not a secret.
    """
    return _apply(text, names, shapes_only=False)


def redact_shapes(text: str) -> str:
    """Only the secret shapes masked: for a name, which is an identifier (an entity called
    `api-token` stays readable) unless it holds a secret's shape (a URL with its password)."""
    return _apply(text, (), shapes_only=True)


def redact_texts(
    texts: Sequence[str], names: Collection[str] = (), *, needs: Iterable[str] = _ANY_NEED
) -> list[str]:
    """Lines of one text (a log, evidence) redacted each, and the lines of a private key
    between its BEGIN and END lines masked whole. `needs`: the rules' texts that may be in
    them (those found in the whole batch), when known."""
    wanted = tuple(needs)
    keys_possible = "-----begin" in wanted
    shown: list[str] = []
    in_key = False
    for text in texts:
        if in_key:
            end = _PEM_END.search(text)
            if end is None:
                shown.append(MASK)
                continue
            in_key = False
            text = f"{MASK}{text[end.start() :]}"
        shown.append(_apply(text, names, shapes_only=False, needs=wanted))
        if keys_possible and "-----BEGIN" in text:
            begins = _PEM.search(text)
            in_key = begins is not None and begins.group("end") is None
    return shown


def redact_lines(lines: list[LogLine]) -> list[LogLine]:
    """Log lines with their text redacted; the same list when none holds a secret.

    The batch is ruled out whole first: one lower-casing and a few substring searches over its
    joined text, which a flood's lines (numbers, paths, ids) pass in microseconds.
    """
    if not lines:
        return lines
    joined = "\n".join(line.text for line in lines).lower()
    if not any(probe.search(joined) for probe in _PROBES):
        return lines
    needs = [need for need in _ANY_NEED if need in joined]
    texts = [line.text for line in lines]
    shown = redact_texts(texts, needs=needs)
    if shown == texts:
        return lines
    return [
        line if text is line.text else replace(line, text=text)
        for line, text in zip(lines, shown, strict=True)
    ]


_SECRET_NAME_END = re.compile(
    r"(?i)(?:secret|password|passwd|passphrase|token|apikey|privatekey|accesskey|secretkey"
    r"|credential)\Z"
)


_FIELD_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _is_secret_name(name: str, names: Collection[str]) -> bool:
    """Whether a field's name ends in a secret word (`db_password`, `refreshToken`,
    `x-api-key`), not only holds one (`secrets`, `token_count`, `secret_names`). A key that is
    a path (`prod/db-password`, a secret's name) or an entity's name (`sec-secret`) names a
    thing, not a field: what it maps to is shown."""
    if not _FIELD_NAME.fullmatch(name) or name in names:
        return False
    return _SECRET_NAME_END.search(re.sub(r"[^A-Za-z0-9]", "", name)) is not None


def redact_value(name: str, value: object, names: Collection[str] = ()) -> object:
    """A named value (a fact, a parameter) fit to show: masked whole when its name says it is
    a secret (unless it only says whether one is set: None, a bool, ""), else every string in
    it redacted by shape and by the names inside it."""
    says_only_whether_set = value is None or isinstance(value, bool) or value == ""
    if _is_secret_name(name, names) and not says_only_whether_set:
        return MASK
    if isinstance(value, str):
        return redact(value, names)
    if isinstance(value, Mapping):
        shown: dict[object, object] = {}
        for key, item in value.items():
            shown_key = redact_shapes(key) if isinstance(key, str) else key
            shown[shown_key] = redact_value(str(key), item, names)
        return shown
    if isinstance(value, tuple):
        return tuple(redact_value(name, item, names) for item in value)
    if isinstance(value, list | set | frozenset):
        return [redact_value(name, item, names) for item in value]
    return value


def redact_facts(facts: Mapping[str, Any], names: Collection[str] = ()) -> dict[str, Any]:
    """A check's facts, each through `redact_value`."""
    return {key: redact_value(key, value, names) for key, value in facts.items()}


_IDENTIFIER = re.compile(r"[\w.-]+")
_ENDS_IN_SECRET_WORD = re.compile(rf"(?i){_SECRET_WORDS}\Z")


def secret_like_names(candidates: Iterable[object]) -> set[str]:
    """The identifiers among `candidates` that end in a secret word but are not only the word
    (`sec-secret`, `api-token`; not `token`): what `redact` must not take for keys."""
    found = set()
    for candidate in candidates:
        if not isinstance(candidate, str) or not _IDENTIFIER.fullmatch(candidate):
            continue
        word = _ENDS_IN_SECRET_WORD.search(candidate)
        if word is not None and word.start() > 0:
            found.add(candidate)
    return found


def names_in(tree: Node) -> set[str]:
    """The secret-like names of a tree's entities (`secret_like_names`): node names and the
    parts of their ids."""
    return secret_like_names(
        part for node in tree.walk() for part in (node.name, *node.id.split("/"))
    )


def redact_node(node: Node, names: Collection[str] = ()) -> Node:
    """The tree with its reasons and details redacted, and its names where they hold a
    secret's shape; the same object where nothing changed."""
    children = tuple(redact_node(child, names) for child in node.children)
    reason = redact(node.status.reason, names)
    name = redact_shapes(node.name)
    detail = redact(node.detail, names)
    unchanged = (
        reason is node.status.reason
        and name is node.name
        and detail is node.detail
        and all(new is old for new, old in zip(children, node.children, strict=True))
    )
    if unchanged:
        return node
    status = node.status if reason is node.status.reason else replace(node.status, reason=reason)
    return replace(node, name=name, status=status, detail=detail, children=children)


def redact_result(result: CheckResult, names: Collection[str] = ()) -> CheckResult:
    """A check's result with its summary, evidence and facts redacted."""
    return replace(
        result,
        summary=redact(result.summary, names),
        evidence=tuple(redact_texts(result.evidence, names)),
        facts=redact_facts(result.facts, names),
    )
