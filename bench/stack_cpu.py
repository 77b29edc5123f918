# CPU per request of the shared request stack, in-process (run through `manage.py shell`
# after the seed, like bench/cpu_per_op.py): each request goes through the server's own
# bridge (`perpetua.asgi_http.DjangoHTTPApp`, the thread that runs Django: WSGI handler,
# middleware, DRF, the view) without the socket and event loop, N times by one thread, best
# of three runs of process CPU time. `health/live` is the stack alone (no auth, no query),
# `users/me` the stack plus authentication (one Redis round trip when the auth cache is on).
import os

from bench.ops import best_cpu_per_call, token
from perpetua.asgi_http import DjangoHTTPApp, _environ

N = int(os.environ.get("STACK_CPU_N", "500"))
app = DjangoHTTPApp()


def scope(path: str, *, auth: bool) -> dict:
    path, _, query = path.partition("?")
    headers = [(b"host", b"127.0.0.1"), (b"accept", b"application/json"), (b"user-agent", b"bench")]
    if auth:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


requests = {
    "health/live": scope("/api/v1/health/live", auth=False),
    "users/me": scope("/api/v1/users/me", auth=True),
    "tasks list": scope("/api/v1/tasks?limit=25", auth=True),
}
results = {}
for name, request in requests.items():

    def call(request=request, name=name):
        status, _headers, body = app._handle(_environ(request, b""), "bench", None, None)
        assert status == 200, (name, status, body[:200])

    results[name] = round(best_cpu_per_call(call, n=N, warmup=50) * 1e6)
print(f"\n## Request stack CPU per request, in-process through the bridge (best of 3 x {N}, µs)\n")
print("| " + " | ".join(results) + " |")
print("|---" * len(results) + "|")
print("| " + " | ".join(str(v) for v in results.values()) + " |")
