# The SQL each request type of the mixed workload runs, counted in the server's own
# configuration (run through `manage.py shell` with the benchmark's environment, after the
# seed): each operation is sent twice as one seeded user through Django's full stack, and
# the statements of the second (warm: token user and session cached when the auth cache is
# on) are printed, then what a cold request adds.
import json
import os
import re
import uuid

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

with open(os.environ["BENCH_TOKENS"]) as tokens:
    token = tokens.readline().strip()
client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")
task = client.get("/api/v1/tasks?limit=25").json()["data"][0]
state = {"version": task["version"]}


def list_():
    return client.get("/api/v1/tasks?limit=25")


def get():
    return client.get(f"/api/v1/tasks/{task['id']}")


def create():
    body = {"title": "bench queries", "priority": "high", "description": "counted"}
    return client.post(
        "/api/v1/tasks", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )


def patch():
    response = client.patch(
        f"/api/v1/tasks/{task['id']}",
        json.dumps({"title": "renamed", "version": state["version"]}),
        content_type="application/json",
    )
    state["version"] = response.json()["data"]["version"]
    return response


def subtask():
    return client.post(
        f"/api/v1/tasks/{task['id']}/subtasks", json.dumps({"title": "step"}), content_type="application/json"
    )


def short(sql: str) -> str:
    sql = re.sub(r'"[a-z_]+"\."', '"', sql)  # drop table qualifiers
    sql = re.sub(r"SELECT .+? FROM", "SELECT … FROM", sql, count=1, flags=re.S) if len(sql) > 160 else sql
    return sql if len(sql) <= 160 else sql[:157] + "…"


print("\n## SQL queries per request type (warm; one user of the seed)\n")
print("| op | status | queries | statements |")
print("|---|---|---|---|")
for name, call in [("list", list_), ("get", get), ("create", create), ("patch", patch), ("subtask", subtask)]:
    call()
    with CaptureQueriesContext(connection) as captured:
        response = call()
    statements = "<br>".join(f"{i}. `{short(q['sql'])}`" for i, q in enumerate(captured.captured_queries, 1))
    print(f"| {name} | {response.status_code} | {len(captured)} | {statements} |")

fresh = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
cache.clear()
with CaptureQueriesContext(connection) as cold:
    fresh.get("/api/v1/tasks?limit=25")
print(f"\nA request whose token user is not cached (cache cleared) runs {len(cold)} for `list`.")
