"""Commands in a guide: shell (bash, PowerShell), SQL and Redis lines, split into steps.

A code block becomes a list of `Command`s: continuation lines joined, comments turned into step
titles, `VAR=$(...)` assignments kept as look-ups, interactive `redis-cli` / `psql` sessions read
line by line, wrappers (`docker compose exec SERVICE ...`, `kubectl exec POD -- ...`) unwrapped
to the command that runs inside. Each command is classified as read-only, changing, or
destructive by the patterns below; lines that are not commands are reported, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from providers.postgres_sql import ACTING_FUNCTIONS
from runbooks.importer.vocabulary import CHANGING, DESTRUCTIVE, REDIS_WORDS, SQL_WORDS, TOOLS

SHELL_LANGS = {"", "bash", "sh", "shell", "console", "zsh", "powershell", "ps1", "pwsh", "cmd"}
SQL_LANGS = {"sql", "psql", "postgres", "postgresql"}

_PLACEHOLDER_TOKEN = re.compile(r"<[A-Za-z][\w-]*>(?=[\s'\":/.,;|)]|$)")
_LOCAL_SUBSTITUTIONS = re.compile(r"^(?:date|uname|whoami|hostname|pwd|id)\b")
# The prompt of an interactive client: redis-cli's `127.0.0.1:6379>` (`[2]` for a database),
# psql's `orders=#` / `orders=>`, or a bare `>`.
_SESSION_PROMPT = re.compile(r"^(?:[\w.-]+:\d+(?:\[\d+\])?>|[\w-]+=[#>]|>(?!>))\s*")


@dataclass
class Token:
    value: str
    start: int
    end: int
    quoted: bool = False


@dataclass
class Command:
    """One step the guide tells the reader to run."""

    text: str  # as in the guide, continuation lines kept, comments removed
    line: int
    lang: str
    title: str = ""  # from the comment above it
    tool: str = ""  # docker, compose, kubectl, aws, redis, sql, curl, net, rabbitmq, ...
    inner: str = ""  # the command that runs (inside an exec wrapper), or `text`
    wrapper: str = ""  # "docker compose exec redis", when wrapped
    sql: str = ""  # the SQL it runs (psql -c, a SQL block or a psql session)
    assigns: str = ""  # VAR of `VAR=$(...)`: a look-up, not a step
    destructive: bool = False
    changing: bool = False
    words: list[str] = field(default_factory=list)  # tokens of `inner`

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""


def tokenize(text: str) -> list[Token]:
    """Shell-like words with their spans; operators (| ; && || > <) are words of their own."""
    tokens: list[Token] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char in " \t\n" or (char in "\\`" and text[index + 1 : index + 2] == "\n"):
            index += 2 if char in "\\`" else 1
            continue
        if text.startswith(("&&", "||", ">>"), index):
            tokens.append(Token(text[index : index + 2], index, index + 2))
            index += 2
            continue
        placeholder = _PLACEHOLDER_TOKEN.match(text, index)
        if placeholder:  # <rds-endpoint> is a word to fill, not a redirection
            tokens.append(Token(placeholder.group(0), index, placeholder.end()))
            index = placeholder.end()
            continue
        if char in "|;<>&":
            tokens.append(Token(char, index, index + 1))
            index += 1
            continue
        start, value, quoted = index, [], False
        while index < length and (
            text[index] not in " \t\n|;<>" or _PLACEHOLDER_TOKEN.match(text, index)
        ):
            char = text[index]
            if (inside := _PLACEHOLDER_TOKEN.match(text, index)) is not None:
                value.append(inside.group(0))
                index = inside.end()
            elif char in "\"'":
                quoted = True
                end = text.find(char, index + 1)
                end = length if end < 0 else end
                value.append(text[index + 1 : end])
                index = end + 1
            elif char == "$" and text[index + 1 : index + 2] == "(":
                depth, end = 0, index + 1
                while end < length:
                    depth += {"(": 1, ")": -1}.get(text[end], 0)
                    if depth == 0:
                        break
                    end += 1
                value.append(text[index : end + 1])
                index = end + 1
            elif char == "&" and text[index + 1 : index + 2] == "&":
                break
            else:
                value.append(char)
                index += 1
        tokens.append(Token("".join(value), start, index, quoted))
    return tokens


def _balanced(text: str) -> bool:
    stripped = re.sub(r"\\.", "", text)
    return stripped.count('"') % 2 == 0 and stripped.count("'") % 2 == 0


def _strip_comment(line: str) -> tuple[str, str]:
    """A line without its trailing `# comment`, and the comment."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and index > 0 and line[index - 1] in " \t":
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line, ""


def _comment_title(text: str) -> str:
    text = re.sub(r"^(?:\d+[.)]|step\s+\d+:?)\s*", "", text.strip(), flags=re.IGNORECASE)
    return text.rstrip(":").strip()


def first_word(text: str) -> str:
    words = [token.value for token in tokenize(text)]
    while words and (words[0] == "sudo" or re.fullmatch(r"[A-Za-z_]\w*=.*", words[0])):
        words = words[1:]
    return words[0] if words else ""


def is_shell_command(text: str) -> bool:
    word = first_word(text)
    return (
        word in TOOLS
        or bool(re.match(r"^\.{1,2}[/\\]", word))
        or bool(re.fullmatch(r"[A-Za-z_]\w*=\$\(.*", text.strip(), re.DOTALL))
    )


def is_sql_statement(text: str) -> bool:
    """A statement (`SELECT ... FROM ...`, `VACUUM ANALYZE orders;`), not a word of prose."""
    return first_word(text).lower() in SQL_WORDS and bool(
        re.search(r"\bfrom\b|;\s*$", text, re.IGNORECASE)
    )


def looks_like_command(span: str) -> bool:
    """An inline code span that is a command (`docker compose restart api`, an SQL
    statement), not a name."""
    return len(tokenize(span)) >= 2 and (is_shell_command(span) or is_sql_statement(span))


def _is_session_opener(words: list[str]) -> str:
    """'redis' or 'sql' when the command opens an interactive client with no command."""
    if not words:
        return ""
    if words[0] == "redis-cli":
        rest = [word for word in words[1:] if not word.startswith("-")]
        options_with_values = sum(1 for word in words[1:] if word in {"-h", "-p", "-a", "-n", "-u"})
        return "redis" if len(rest) <= options_with_values else ""
    if words[0] == "psql" and not {"-c", "-f", "<", "--command"} & set(words):
        return "sql"
    return ""


def split_block(code: str, lang: str, line: int) -> tuple[list[Command], list[tuple[int, str]]]:
    """The commands of one code block, and the lines that are not commands."""
    lang = lang.lower()
    if lang in SQL_LANGS:
        return _sql_statements(code, line, lang), []
    if lang not in SHELL_LANGS:
        return [], []
    commands: list[Command] = []
    unknown: list[tuple[int, str]] = []
    lines = code.splitlines()
    title, session, index = "", "", 0
    while index < len(lines):
        raw, number = lines[index], line + 1 + index
        stripped = raw.strip()
        index += 1
        if not stripped:
            continue
        if stripped.startswith(("#", "//", "REM ")) and not stripped.startswith("#!"):
            title = _comment_title(stripped.lstrip("#/ ").removeprefix("REM "))
            continue
        text = re.sub(r"^(?:\$|PS>|PS [^>]*>)\s+", "", stripped)
        text = _SESSION_PROMPT.sub("", text).strip()
        while (text.endswith(("\\", "`")) or not _balanced(text)) and index < len(lines):
            text += "\n" + lines[index]
            index += 1
        if re.match(r"^(?:for|while)\b", text):
            while not re.search(r"\bdone\s*$", text) and index < len(lines):
                text += "\n" + lines[index]
                index += 1
        text, comment = _strip_comment(text)
        word = first_word(text).lower()
        if session and not is_shell_command(text):
            kind = "redis" if session == "redis" and word in REDIS_WORDS else ""
            kind = "sql" if session == "sql" and word in SQL_WORDS else kind
            if kind == "sql":
                while not text.rstrip().endswith(";") and index < len(lines):
                    if not lines[index].strip():
                        break
                    text += "\n" + lines[index]
                    index += 1
            if kind:
                commands.append(_make(text, number, lang, title or comment, kind=kind))
                continue  # the session's title holds for each of its lines
        if not is_shell_command(text):
            statement, end = (
                _sql_continued(text, lines, index) if word in SQL_WORDS else (text, index)
            )
            if word in SQL_WORDS and re.search(r"\bfrom\b|;", statement, re.IGNORECASE):
                index = end
                commands.append(_make(statement, number, lang, title or comment, kind="sql"))
            elif re.match(r"^https?://\S+$", text):
                commands.append(_make(text, number, lang, title or comment, kind="url"))
            else:
                unknown.append((number, stripped))
            title = ""
            continue
        command = _make(text, number, lang, title or _comment_title(comment))
        title = ""
        opener = _is_session_opener(command.words)
        if opener and _session_follows(lines[index:], opener):
            session, title = opener, command.title
            continue  # the session's lines are the steps; opening it is not one
        session = ""
        commands.append(command)
    return commands, unknown


def _sql_continued(text: str, lines: list[str], index: int) -> tuple[str, int]:
    """An SQL statement with the lines that continue it (`WHERE ...`, `ORDER BY ...`) up to
    its semicolon, and the index of the line after it; a blank line, a comment, a command or
    a line that starts another statement ends it too."""
    while not text.rstrip().endswith(";") and index < len(lines):
        following = lines[index].strip()
        if (
            not following
            or following.startswith(("#", "--"))
            or is_shell_command(following)
            or first_word(following).lower() in SQL_WORDS
        ):
            break
        text += "\n" + lines[index]
        index += 1
    return text, index


def _session_follows(rest: list[str], opener: str) -> bool:
    for raw in rest:
        text = _SESSION_PROMPT.sub("", raw.strip()).strip()
        if not text or text.startswith(("#", "--")):
            continue
        words = SQL_WORDS if opener == "sql" else REDIS_WORDS
        return not is_shell_command(text) and first_word(text).lower() in words
    return False


def _sql_statements(code: str, line: int, lang: str) -> list[Command]:
    commands: list[Command] = []
    title, buffer, start = "", "", 0
    for offset, raw in enumerate(code.splitlines()):
        stripped = raw.strip()
        if not buffer and stripped.startswith("--"):
            title = _comment_title(stripped.lstrip("- "))
            continue
        if not stripped:
            continue
        if not buffer:
            start = line + 1 + offset
        buffer += ("\n" if buffer else "") + raw
        if stripped.endswith(";"):
            commands.append(_make(buffer.strip(), start, lang, title, kind="sql"))
            buffer, title = "", ""
    if buffer.strip():
        commands.append(_make(buffer.strip(), start, lang, title, kind="sql"))
    return commands


def _unwrap(words: list[str], text: str, tokens: list[Token]) -> tuple[str, str]:
    """(wrapper, inner text) for `docker [compose] exec ...` and `kubectl exec ... --`."""
    if words[:2] == ["docker", "compose"] or words[:1] == ["docker-compose"]:
        rest, prefix = (words[2:], 2) if words[0] == "docker" else (words[1:], 1)
        skip = 1 if rest[:1] == ["exec"] else 0
        if skip:
            index = prefix + 1
            while index < len(words) and words[index].startswith("-"):
                index += 1
            if index + 1 < len(words):
                return " ".join(words[: index + 1]), text[tokens[index + 1].start :]
    if words[:2] == ["docker", "exec"]:
        index = 2
        while index < len(words) and words[index].startswith("-"):
            index += 1
        if index + 1 < len(words):
            return " ".join(words[: index + 1]), text[tokens[index + 1].start :]
    if words[:2] == ["kubectl", "exec"] and "--" in words:
        index = words.index("--")
        if index + 1 < len(words):
            return " ".join(words[:index]), text[tokens[index + 1].start :]
    return "", text


def _pipeline_head(text: str) -> str:
    """The command of a pipeline that does the work: not the `echo`/`cat` feeding it."""
    tokens = tokenize(text)
    segments: list[tuple[int, int]] = []
    start = 0
    for token in tokens:
        if token.value in {"|", "&&", ";", "||"}:
            segments.append((start, token.start))
            start = token.end
    segments.append((start, len(text)))
    for begin, end in segments:
        part = text[begin:end].strip()
        if part and first_word(part) not in {"echo", "cat", "gunzip", "zcat", "head"}:
            return part if len(segments) > 1 and first_word(part) != "xargs" else text.strip()
    return text.strip()


def tool_of(words: list[str], kind: str = "") -> str:
    if kind:
        return kind
    head = words[0] if words else ""
    if head == "docker-compose" or words[:2] == ["docker", "compose"]:
        return "compose"
    families = {
        "redis-cli": "redis",
        "psql": "psql",
        "pg_isready": "psql",
        "rabbitmqctl": "rabbitmq",
        "rabbitmqadmin": "rabbitmq",
        "rabbitmq-diagnostics": "rabbitmq",
        "curl": "curl",
        "wget": "curl",
        "nc": "net",
        "ncat": "net",
        "telnet": "net",
        "nslookup": "net",
        "dig": "net",
        "host": "net",
        "openssl": "net",
    }
    if re.match(r"^\.{1,2}[/\\]", head):
        return "script"
    return families.get(head, head)


def _make(text: str, line: int, lang: str, title: str, kind: str = "") -> Command:
    command = Command(text=text.strip(), line=line, lang=lang, title=title)
    assignment = re.fullmatch(r"([A-Za-z_]\w*)=\$\((.*)\)\s*", command.text, re.DOTALL)
    body = command.text
    if assignment:
        command.assigns, body = assignment.group(1), assignment.group(2).strip()
    loop = re.match(r"^(?:for|while)\b.*?;?\s*\bdo\b\s*(.*?)\s*;?\s*\bdone\s*$", body, re.DOTALL)
    if loop and not kind:
        body = loop.group(1).strip()  # the loop's first command is what it runs
    head = body if kind else _pipeline_head(body)
    tokens = tokenize(head)
    words = [token.value for token in tokens]
    while words and (words[0] == "sudo" or re.fullmatch(r"[A-Za-z_]\w*=\S*", words[0])):
        words, tokens = words[1:], tokens[1:]
        head = head[tokens[0].start :] if tokens else ""
        tokens = tokenize(head)
    command.wrapper, command.inner = _unwrap(words, head, tokens) if words else ("", head)
    inner_words = [token.value for token in tokenize(command.inner)]
    if kind == "redis":
        inner_words = ["redis-cli", *inner_words]
    command.words = inner_words
    command.tool = tool_of(inner_words, kind if kind in {"sql", "url"} else "")
    if command.tool == "psql":
        option = next((i for i, w in enumerate(inner_words) if w in {"-c", "--command"}), -1)
        if 0 <= option < len(inner_words) - 1:
            command.sql = inner_words[option + 1]
    elif command.tool == "sql":
        command.sql = command.inner
    lowered = " ".join(inner_words).lower() if kind != "redis" else command.inner.lower()
    whole = " ".join(w for w in (command.wrapper.lower(), lowered) if w)
    flat = re.sub(r"[\\`]\n", " ", command.text).lower()
    checked = [lowered, command.sql.strip().lower(), whole, flat]
    if re.search(r"\|\s*(?:docker\S*\s.*\s)?psql\b", flat):
        checked.append("psql < restore")  # a dump piped into psql overwrites data
    command.destructive = any(re.search(p, t) for p in DESTRUCTIVE for t in checked if t)
    command.changing = (
        command.destructive
        or any(re.search(p, t) for p in CHANGING for t in checked if t)
        or bool(command.sql and ACTING_FUNCTIONS.search(command.sql))  # pg_terminate_backend()
    )
    return command


def substitution_name(inner: str) -> str | None:
    """A parameter name for `$(...)`, or None when the shell computes it (`$(date ...)`)."""
    if _LOCAL_SUBSTITUTIONS.match(inner.strip()):
        return None
    words = [token.value for token in tokenize(inner)]
    if words[:2] == ["terraform", "output"]:
        names = [word for word in words[2:] if not word.startswith("-") and word != "|"]
        if names:
            return re.sub(r"\W+", "_", names[0]).lower()
    significant = [w for w in words[1:3] if re.fullmatch(r"[a-z][a-z0-9-]*", w)]
    return re.sub(r"\W+", "_", "_".join([tool_of(words), *significant])).lower() or "value"
