"""The 1.4.3 image was built without the payments package: the api container exits with code 1
at start (ModuleNotFoundError in its CloudWatch log) and ECS keeps replacing it. The operator
asks why the service keeps cycling its tasks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario


def crash_log(minutes_ago: float) -> list[str]:
    at = f.log_time(minutes_ago)
    return [
        f"{at} INFO  shop.api: starting shop-api 1.4.3 (env=prod, workers=4)",
        f"{at} INFO  shop.api.settings: loaded settings from environment",
        "Traceback (most recent call last):",
        '  File "<frozen runpy>", line 198, in _run_module_as_main',
        '  File "<frozen runpy>", line 88, in _run_code',
        '  File "/app/shop/api/__main__.py", line 3, in <module>',
        "    from shop.api.app import create_app",
        '  File "/app/shop/api/app.py", line 14, in <module>',
        "    from shop.payments.adyen import AdyenGateway",
        "ModuleNotFoundError: No module named 'shop.payments.adyen'",
    ]


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    survivor = stack.running[1]
    failed = [stack.running[0], *(f.new_task(stack) for _ in range(3))]
    f.stop(
        stack,
        failed,
        stop_code="EssentialContainerExited",
        reason="Essential container in task exited",
        exit_code=1,
        minutes_apart=3,
    )
    for index, arn in enumerate(failed):
        f.api_logs(stack, arn, crash_log(index * 3 + 0.5), minutes_ago=index * 3 + 0.5)
    at = f.log_time(95)
    f.api_logs(
        stack,
        survivor,
        [
            f"{at} INFO  shop.api: starting shop-api 1.4.2 (env=prod, workers=4)",
            f"{at} INFO  shop.api: listening on 0.0.0.0:8080",
            f"{f.log_time(2)} INFO  shop.api.access: GET /health 200 3ms",
        ],
        minutes_ago=95,
    )
    f.counts(stack, running=1)
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[0])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[1])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[2])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[3])}).",
    )


SCENARIO = Scenario(
    symptom="why does shop-prod-api keep cycling its tasks?",
    style="question",
    kind="ecs",
    expected=(
        "the api container of shop-prod-api exits with code 1 at start: the image lacks the "
        "module shop.payments.adyen (ModuleNotFoundError in /ecs/shop-prod/api)"
    ),
    accept=(
        ("ecs-tasks-restarting", "application-crash"),
        ("ecs-tasks-failing-to-start", "essential-container-exited"),
        ("app-server-errors", "module-import-error"),
    ),
    about="shop-prod-api",
    make=make,
)
