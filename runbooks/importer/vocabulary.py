"""Words that tell commands apart: tools, SQL and Redis commands, and what changes or destroys.

Kept as data, apart from the code that reads commands, so that a new tool or pattern is one
line here. Patterns are matched on the lower-cased command (the inner one, when wrapped).
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# First words that start a shell command (after `sudo` and `VAR=value` prefixes).
TOOLS = _words(
    """
    docker docker-compose kubectl helm aws curl wget psql pg_isready pg_dump pg_restore vacuumdb
    redis-cli rabbitmqctl rabbitmqadmin rabbitmq-diagnostics nc ncat telnet nslookup dig host
    openssl ping traceroute ss netstat df du free top htop watch grep find cat echo ls terraform
    pulumi systemctl
    journalctl ufw iptables sleep gunzip cp mv rm nano vi vim certbot chmod chown fallocate mkswap
    swapon taskkill findstr tail head less jq python python3 node npm kill ps alembic git make ssh
    scp tar gzip export for while uname date mkdir tee xargs awk sed sort uniq wc cut lsof
    apt apt-get yum dnf apk brew pip pip3 uuidgen
    Get-Process Stop-Process Test-NetConnection Invoke-WebRequest
    """
)
SQL_WORDS = _words(
    """
    select insert update delete create drop alter vacuum reindex explain show truncate grant revoke
    analyze with begin commit
    """
)
REDIS_WORDS = _words(
    """
    ping info keys scan get set del unlink ttl pttl exists type flushdb flushall monitor config
    client memory dbsize save bgsave lastsave slowlog latency expire hgetall llen xinfo mget
    """
)

# Destructive: data or state is lost.
DESTRUCTIVE = [
    r"\bflushdb\b",
    r"\bflushall\b",
    r"^(?:del|unlink)\s",
    r"\bpurge_queue\b",
    r"\bdelete_queue\b",
    r"\b(?:force_)?reset\b",
    r"\bprune\b",
    r"\bdown\b.*\s(?:-v|--volumes)\b",
    r"^docker\s+(?:rm|rmi)\b",
    r"^docker(?:-compose|\s+compose)\s+rm\b",
    r"^rm\s",
    r"\s-delete\b",
    r"^kubectl\s+delete\b",
    r"\bdelete-[a-z-]+",
    r"--force-delete-without-recovery",
    r"\bterminate-[a-z-]+",
    r"\bstop-task\b",  # kills a running task, like deleting a pod
    r"^terraform\s+(?:destroy|taint|force-unlock)\b",
    r"\bdrop\s",
    r"\btruncate\s",
    r"^delete\s+from\b",
    r"^taskkill\b",
    r"^(?:kill|pkill)\b",
    r"^stop-process\b",
    r"-x\s*delete\b",
    r"^psql\b.*\s<\s+\S",
    r"\bpg_restore\b",
]
# Changing, not destructive: a fix, never a diagnostic check.
CHANGING = [
    r"(?<![\w-])(?:restart|start|stop|up|down|scale|apply|build|push|login|publish|renew)\b(?!-)",
    r"^terraform\s+import\b",
    r"^kubectl\s+(?:create|apply|patch|edit|set)\b",
    r"^curl\b.*\s-o\s",
    r"(?<![\w-])(?:update|register|modify|put|create|start|reboot|enable|disable|set)-[a-z-]+",
    r"^pulumi\s+(?:config\s+set|up)\b",
    r"\brollout\s+(?:restart|undo)\b",
    r"^(?:cp|mv|chmod)\s",
    r"^(?:ufw|iptables)\s+(?:allow|deny|reload|-a|-i)",
    r"^(?:nano|vi|vim|sed\s+-i)\b",
    r"^(?:alter|create|insert|update|vacuum|reindex|grant|revoke)\b",
    r"^(?:set|expire|save)\s",
    r"^(?:config\s+set|bgsave|save)\b",
    r"^curl\b.*(?:-x\s*(?:post|put|patch)|\s-d\s|--data)",
    r"(?<![\w-])create-[a-z-]+",
    r"^(?:fallocate|mkswap|swapon|mkdir|tee)\b",
    r">>",
    r"^certbot\b",
    r"^(?:alembic\s+upgrade|terraform\s+apply)",
    r"^docker\s+cp\b",
    r"\bvacuumdb\b",
]
