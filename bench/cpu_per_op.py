# CPU per request type, in-process (run through `manage.py shell` after the seed, like
# bench/queries.py): each operation of the mixed workload sent N times through Django's
# full stack (middleware, DRF, the database on loopback) by one thread, best of three runs
# of process CPU time (subtask creation is left out: it fills the task's subtask cap).
# Without the server and the event loop, so the numbers isolate what the application costs
# and move less with a busy machine than req/s do.
import os

from bench.ops import best_cpu_per_call, op_create, op_get, op_list, op_patch

N = int(os.environ.get("CPU_PER_OP_N", "300"))
ops = {"list": op_list, "get": op_get, "create": op_create, "patch": op_patch}
results = {}
for name, call in ops.items():
    results[name] = round(best_cpu_per_call(call, n=N, warmup=20) * 1000, 3)
mix = {"list": 40, "get": 20, "create": 15, "patch": 15}
weighted = sum(results[k] * w for k, w in mix.items()) / sum(mix.values())
print(f"\n## Application CPU per request, in-process (best of 3 x {N}, ms)\n")
print("| " + " | ".join(results) + " | weighted 40/20/15/15 |")
print("|---" * (len(results) + 1) + "|")
print("| " + " | ".join(f"{v:.2f}" for v in results.values()) + f" | {weighted:.2f} |")
