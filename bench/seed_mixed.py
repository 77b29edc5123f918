# The mixed workload's data (../shared/bench/README.md), run through `manage.py shell`:
# 200 free users x 30 tasks, 1-3 subtasks on every 3rd task; one access token per user
# written to $BENCH_TOKENS.
import os

from accounts.services import session_start, user_get_or_create_for_email
from tasks.models import Subtask, Task

tokens = []
for n in range(200):
    user, _ = user_get_or_create_for_email(email=f"vu{n}@bench.example", name=f"VU {n}")
    if not Task.objects.filter(user=user).exists():
        tasks = Task.objects.bulk_create([Task(user=user, title=f"Task {i}", description="seeded") for i in range(30)])
        Subtask.objects.bulk_create(
            [
                Subtask(task=task, title=f"Step {j}", order_index=j)
                for i, task in enumerate(tasks)
                if i % 3 == 0
                for j in range(1 + (i // 3) % 3)
            ]
        )
    tokens.append(session_start(user=user).access_token)
with open(os.environ["BENCH_TOKENS"], "w") as fh:
    fh.write("\n".join(tokens) + "\n")
