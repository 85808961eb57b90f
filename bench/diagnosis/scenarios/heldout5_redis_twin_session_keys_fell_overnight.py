"""Healthy twin: `cache` holds the shop's sessions, each written with a 30-minute expiry that
every request renews. In the evening thousands of customers are on the site; at night most leave
and their sessions run out and expire, as designed: the key count falls by three quarters. No
key was evicted (memory is nowhere near a limit), nothing was flushed or restarted, every write
is accepted, and the sessions of the customers still active are there with their expiries. The
operator, new on call, sees the drop on the dashboard in the morning and asks whether sessions
were lost."""

from bench.diagnosis.faults_heldout5 import sessions_expired
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_redis("cache")
    counts = sessions_expired(server, kept=900, expired=3100, ttl=1800)
    env.values["before"] = f"{counts['keys'] + 3100:,}"
    env.values["now"] = f"{counts['keys']:,}"


SCENARIO = Scenario(
    symptom=(
        "the Grafana panel for the session Redis shows its key count going from about {before} "
        "last evening to {now} this morning. nobody restarted it or flushed anything as far "
        "as I know. did we lose people's sessions? do I need to do something?"
    ),
    style="question",
    kind="redis",
    expected=(
        "nothing is wrong: the sessions expired at the end of their 30 minutes as customers "
        "left for the night (expired, not evicted; memory far from any limit)"
    ),
    about="cache",
    make=make,
)
