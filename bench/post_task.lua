-- Creates tasks then deletes nothing: the bench user is Pro with a raised limit (see seed.py).
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title": "Benchmark task", "priority": "high", "description": "created by wrk"}'
