# The request types of the mixed workload, sent in-process through Django's full stack as
# the first seeded user (BENCH_TOKENS): shared by bench/queries.py and bench/cpu_per_op.py,
# which run through `manage.py shell` after the seed; `best_cpu_per_call` is the timing loop of
# cpu_per_op.py and stack_cpu.py.
import json
import os
import time
import uuid
from collections.abc import Callable

from django.test import Client

with open(os.environ["BENCH_TOKENS"]) as tokens:
    token = tokens.readline().strip()
client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")
task = client.get("/api/v1/tasks?limit=25").json()["data"][0]
state = {"version": task["version"]}


def op_list():
    return client.get("/api/v1/tasks?limit=25")


def op_get():
    return client.get(f"/api/v1/tasks/{task['id']}")


def op_create():
    body = {"title": "bench", "priority": "high", "description": "measured"}
    return client.post(
        "/api/v1/tasks", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )


def op_patch():
    response = client.patch(
        f"/api/v1/tasks/{task['id']}",
        json.dumps({"title": "renamed", "version": state["version"]}),
        content_type="application/json",
    )
    state["version"] = response.json()["data"]["version"]
    return response


def op_subtask():
    return client.post(
        f"/api/v1/tasks/{task['id']}/subtasks", json.dumps({"title": "step"}), content_type="application/json"
    )


def best_cpu_per_call(call: Callable[[], object], *, n: int, warmup: int) -> float:
    """Process CPU seconds per call, best of three runs of `n` after `warmup` calls: the best
    run is the one least disturbed by the rest of a shared machine."""
    for _ in range(warmup):
        call()
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            call()
        best = min(best, (time.process_time() - start) / n)
    return best
