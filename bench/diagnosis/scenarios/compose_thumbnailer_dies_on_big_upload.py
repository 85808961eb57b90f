"""The thumbnailer has a 24 MiB memory limit; a large photo needs more, the kernel kills it
(OOMKilled, exit 137), compose restarts it (on-failure:3) and it dies again on the same upload.
The operator only hears that uploads stopped working."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "thumbnailer: watching uploads/ (max 4 workers)"
echo "thumbnailer: resizing upload 8841 (IMG_2041.HEIC, 48.2 MB) to 320, 800, 1600 px"
frame=$(yes 'decoded-pixel-row' | head -c 80000000)
echo "thumbnailer: upload 8841 done"
"""


def make(env):  # type: ignore[no-untyped-def]
    thumbnailer = env.container(
        "thumbnailer",
        SCRIPT,
        env={"UPLOADS_DIR": "/data/uploads", "REDIS_URL": env.targets["cache"]["url"]},
        mem_limit="24m",
        memswap_limit="24m",
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
    )
    f.until(
        lambda: f.state(thumbnailer)["Status"] == "exited",
        timeout=20,
        what="thumbnailer given up on",
    )


SCENARIO = Scenario(
    symptom=(
        "image uploads stopped working, the thumbnailer seems to die every time a big photo "
        "comes in"
    ),
    style="vague",
    kind="compose",
    expected=(
        "thumbnailer is killed for exceeding its 24 MiB memory limit (OOMKilled, exit 137) when "
        "it resizes a large photo"
    ),
    accept=(
        ("compose-container-restarting", "oom-killed"),
        ("compose-high-memory", "oom-killed"),
    ),
    about="thumbnailer",
    make=make,
)
