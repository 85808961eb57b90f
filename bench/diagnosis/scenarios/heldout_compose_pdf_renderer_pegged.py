"""The compose pdf-renderer is limited to a quarter of a CPU (`cpus: 0.25`); since this morning's
release its layout step spins on every invoice and uses all of it. It runs, it answers nothing
in time: invoice downloads hang until the browser gives up. The operator only hears that
invoices are slow."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "$(date -u '+%F %T'),004 INFO pdf-renderer: starting pdf-renderer 3.2.0 (workers=2)"
echo "$(date -u '+%F %T'),051 INFO pdf-renderer: listening on :9100"
echo "$(date -u '+%F %T'),318 INFO pdf-renderer: rendering invoice INV-2026-118204 (14 pages)"
echo "$(date -u '+%F %T'),902 INFO pdf-renderer: rendering invoice INV-2026-118207 (3 pages)"
while :; do :; done
"""


def make(env):  # type: ignore[no-untyped-def]
    renderer = env.container(
        "pdf-renderer",
        SCRIPT,
        env={
            "RENDER_PORT": "9100",
            "WORKERS": "2",
            "FONTS_DIR": "/usr/share/fonts",
            "REDIS_URL": env.targets["cache"]["url"],
        },
        nano_cpus=250_000_000,
        restart_policy={"Name": "unless-stopped"},
    )
    f.until(lambda: f.state(renderer)["Status"] == "running", what="pdf-renderer running")


SCENARIO = Scenario(
    symptom=(
        "customers say downloading an invoice takes forever or just times out, started this "
        "morning after the release. the pdf thing is still running as far as I can tell"
    ),
    style="vague",
    kind="compose",
    expected=(
        "pdf-renderer runs at its CPU limit (0.25 CPU, 100 % of it used): it is CPU-starved and "
        "renders too slowly to answer"
    ),
    accept=(
        ("compose-high-cpu", "container-cpu-saturated"),
        ("app-slow-responses", "cpu-saturated"),
    ),
    about="pdf-renderer",
    make=make,
)
