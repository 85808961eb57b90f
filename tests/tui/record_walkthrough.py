"""Record a real walkthrough on a Redis at maxmemory, for the walkthrough and dialog snapshots.

Run `python -m tests.tui.record_walkthrough` to regenerate recordings/walkthrough.json. It starts
a private Redis, fills it to maxmemory with `fill:*` keys (noeviction), and lets the real Redis
provider, engine and gate do what the walkthrough does: the main screen's sweep, the
redis-out-of-memory runbook's checks, the delete-keys fix planned (its preview) and applied,
and the verify checks after it. Ports and timings are made canonical as in record_incident.py.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Settings, Target
from runbooks.engine import diagnose
from runbooks.fixing import apply_fix, plan_fix
from runbooks.gate import AuditLog, Gate
from runbooks.loader import load_library
from tests.servers.redis import start_redis
from tests.tui.record_incident import HOSTS, _canonical, _node, _result

HERE = Path(__file__).parent / "recordings"
RUNBOOK = "redis-out-of-memory"
PARAMS = {"pattern": "fill:*"}


async def observe(inventory: Inventory, workdir: Path) -> dict[str, Any]:
    live = LiveEnvironment(inventory)
    try:
        nodes, sweep = await live.check_everything()
        runbook = load_library().runbooks[RUNBOOK]
        diagnosis = await diagnose(runbook, live, PARAMS)
        cause = diagnosis.causes[0].cause
        planned = await plan_fix(diagnosis, cause, 0, live)
        assert planned.plan is not None
        gate = Gate(live.name, read_only=False, audit=AuditLog(workdir / "audit.jsonl"))
        report = await apply_fix(planned, diagnosis, live, gate, planned.confirmation_word)
        return {
            "nodes": [_node(node) for node in nodes],
            "results": [_result(result) for result in sweep],
            "steps": [_result(result) for result in diagnosis.results.values()],
            "action": {
                "name": planned.plan.preview.action,
                "params": planned.params,
                "preview": asdict(planned.plan.preview),
                "outcome": {"ok": report.ran, "summary": report.summary, "output": report.output},
            },
            "after": [_result(result) for result in report.after.values()],
        }
    finally:
        await live.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, start_redis(Path(workdir)) as redis:
        redis.fill_to_maxmemory("2mb")
        inventory = Inventory(
            settings=Settings(check_timeout=5),
            environments={
                "prod": Environment(targets=[Target(kind="redis", name="cache", url=redis.url)])
            },
        )
        document = asyncio.run(observe(inventory, Path(workdir)))
        ports = {redis.port: f"{HOSTS['cache']}:6379"}
    text = _canonical(json.dumps(document, indent=1, default=str), ports)
    (HERE / "walkthrough.json").write_text(text + "\n")
    print(f"wrote {HERE / 'walkthrough.json'}: {len(document['steps'])} steps")


if __name__ == "__main__":
    main()
