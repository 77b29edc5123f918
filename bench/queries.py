# The SQL each request type of the mixed workload runs, counted in the server's own
# configuration (run through `manage.py shell` with the benchmark's environment, after the
# seed): each operation is sent twice as one seeded user through Django's full stack, and
# the statements of the second (warm: token user and session cached when the auth cache is
# on) are printed, then what a cold request adds.
import re

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.ops import op_create, op_get, op_list, op_patch, op_subtask, token


def short(sql: str) -> str:
    sql = " ".join(sql.split())  # one line, also for the multi-line constant statements
    sql = re.sub(r'"[a-z_]+"\."', '"', sql)  # drop table qualifiers
    sql = re.sub(r"SELECT .+? FROM", "SELECT … FROM", sql, count=1, flags=re.S) if len(sql) > 160 else sql
    return sql if len(sql) <= 160 else sql[:157] + "…"


print("\n## SQL queries per request type (warm; one user of the seed)\n")
print("| op | status | queries | statements |")
print("|---|---|---|---|")
for name, call in [
    ("list", op_list),
    ("get", op_get),
    ("create", op_create),
    ("patch", op_patch),
    ("subtask", op_subtask),
]:
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
