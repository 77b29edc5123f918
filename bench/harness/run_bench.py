#!/usr/bin/env python3
"""Drive wrk + mixed.lua against any server implementing the task API.

Perpetua's copy of ../shared/bench/run_bench.py (same mix, seed handling, levels and
report), with one addition: the server's CPU time during each measured run (utime + stime
of the PID tree, from /proc), reported as CPU ms per request. On a machine shared with
other work, req/s moves with the neighbours; CPU per request does not, and 1000 / it is
the req/s one dedicated core would serve.

For each concurrency level: an untimed warm-up run, then a measured run.
wrk runs with one connection per thread (one virtual user per thread, each
with its own bearer token) and is pinned to --lg-cpu with taskset.  The
server's resident memory is sampled during the measured run when --server-pid
is given (the PID and all its descendants are summed, so gunicorn/uvicorn
master+workers are covered).

Usage:
  run_bench.py --base-url http://127.0.0.1:8001/api/v1 --tokens tokens.txt \
      [--levels 10,50,200] [--duration 30] [--warmup 10] [--lg-cpu 0] \
      [--server-pid PID] [--out results.json] [--label main]

Only standard library; needs `wrk` (apt-get install wrk) and, optionally,
lua-cjson (apt-get install lua-cjson) for faster JSON decoding inside wrk.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPS = ["list", "get", "create", "patch", "subtask"]


# ---------------------------------------------------------------------------
# memory sampling
# ---------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                data = fh.read()
        except OSError:
            continue
        # comm may contain spaces/parens: split after the last ')'
        rest = data[data.rfind(")") + 2:].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_pids(root: int) -> list[int]:
    kids = _children_map()
    out, stack = [], [root]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, []))
    return out


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(roots: list[int]) -> float:
    """utime + stime of every process in the trees under `roots` (seconds)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for r in roots:
        for p in tree_pids(r):
            try:
                with open(f"/proc/{p}/stat") as fh:
                    data = fh.read()
            except OSError:
                continue
            rest = data[data.rfind(")") + 2:].split()
            total += int(rest[11]) + int(rest[12])
    return total / ticks


def tree_rss_mib(roots: list[int]) -> float:
    total = 0
    for r in roots:
        for p in tree_pids(r):
            total += rss_kib(p)
    return total / 1024.0


class RssSampler(threading.Thread):
    def __init__(self, roots: list[int], interval: float = 0.5):
        super().__init__(daemon=True)
        self.roots, self.interval = roots, interval
        self.samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(tree_rss_mib(self.roots))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


# ---------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------
def run_wrk(args, conns: int, duration: int, out_json: str | None, label: str) -> dict | None:
    cmd = []
    if args.lg_cpu != "":
        cmd += ["taskset", "-c", str(args.lg_cpu)]
    cmd += [args.wrk, "-t", str(conns), "-c", str(conns), "-d", f"{duration}s",
            "--timeout", args.timeout, "--latency", "-s", str(HERE / "mixed.lua"),
            args.base_url]
    env = dict(os.environ)
    env["BENCH_TOKENS"] = str(Path(args.tokens).resolve())
    env["BENCH_MIX"] = args.mix
    env["BENCH_LABEL"] = label
    env["BENCH_OUT"] = out_json or ""
    if out_json:
        print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out_json:
        sys.stdout.write(proc.stdout[proc.stdout.find("[mixed.lua]"):] if "[mixed.lua]" in proc.stdout else proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"wrk failed with rc={proc.returncode}")
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr[-2000:])
    if out_json and os.path.exists(out_json):
        with open(out_json) as fh:
            return json.load(fh)
    return None


def fmt_counts(d) -> str:
    if not d or isinstance(d, list):
        return "-"
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True,
                    help="API base incl. prefix, e.g. http://127.0.0.1:8001/api/v1")
    ap.add_argument("--tokens", required=True, help="file: one bearer token per line")
    ap.add_argument("--levels", default="10,50,200", help="comma list of connection counts")
    ap.add_argument("--duration", type=int, default=30, help="measured seconds per level")
    ap.add_argument("--warmup", type=int, default=10, help="warm-up seconds per level (0=none)")
    ap.add_argument("--lg-cpu", default="0", help="CPU list for taskset on wrk ('' = no pinning)")
    ap.add_argument("--server-pid", action="append", type=int, default=[],
                    help="server PID to sample RSS for (repeatable; descendants included)")
    ap.add_argument("--mix", default="list:40,get:20,create:15,patch:15,subtask:10")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="pause (s) after each wrk run so abandoned in-flight requests drain")
    ap.add_argument("--timeout", default="30s", help="wrk per-request timeout")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--before-level", default="",
                    help="shell command run before each level (e.g. reseed the DB)")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default="", help="write all results as JSON here")
    args = ap.parse_args()

    if not shutil.which(args.wrk) and not os.path.exists(args.wrk):
        raise SystemExit("wrk not found (apt-get install wrk)")
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    results = {"label": args.label, "base_url": args.base_url, "mix": args.mix,
               "duration_s": args.duration, "warmup_s": args.warmup,
               "lg_cpu": args.lg_cpu, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "levels": []}
    if args.server_pid:
        results["rss_mib_start"] = round(tree_rss_mib(args.server_pid), 1)

    tmpdir = tempfile.mkdtemp(prefix="bench-")
    for c in levels:
        if args.before_level:
            subprocess.run(args.before_level, shell=True, check=True)
        print(f"\n=== {c} connections: warm-up {args.warmup}s, measure {args.duration}s ===", flush=True)
        if args.warmup > 0:
            run_wrk(args, c, args.warmup, None, f"{args.label} warmup c={c}")
            time.sleep(args.settle)
        sampler = None
        if args.server_pid:
            sampler = RssSampler(args.server_pid)
            sampler.start()
        out_json = os.path.join(tmpdir, f"c{c}.json")
        cpu_before = cpu_seconds(args.server_pid) if args.server_pid else None
        res = run_wrk(args, c, args.duration, out_json, f"{args.label} c={c}") or {}
        if cpu_before is not None and res.get("requests"):
            res["server_cpu_s"] = round(cpu_seconds(args.server_pid) - cpu_before, 2)
            res["server_cpu_ms_per_request"] = round(1000 * res["server_cpu_s"] / res["requests"], 2)
        if sampler:
            sampler.stop()
            res["server_rss_mib_max"] = round(max(sampler.samples), 1) if sampler.samples else None
            res["server_rss_mib_end"] = round(sampler.samples[-1], 1) if sampler.samples else None
        res["level"] = c
        results["levels"].append(res)
        time.sleep(args.settle)

    # ------------------------------------------------------------------ report
    lines = []
    lines.append(f"\n## {args.label or 'bench'}  ({args.base_url}, {args.duration}s per level after {args.warmup}s warm-up, wrk on CPU {args.lg_cpu or 'any'})\n")
    lines.append("| conns | req/s | ok req/s | p50 ms | p95 ms | p99 ms | status counts | expected 409 | unexpected | socket errs (c/r/w/t) | server RSS max MiB | server CPU ms/req |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results["levels"]:
        lat = r.get("latency_ms", {})
        se = r.get("socket_errors", {})
        lines.append("| {c} | {rps:.1f} | {ok:.1f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {st} | {e409} | {bad} | {se} | {rss} | {cpu} |".format(
            c=r["level"], rps=r.get("rps", 0), ok=r.get("ok_rps", 0),
            p50=lat.get("p50", 0), p95=lat.get("p95", 0), p99=lat.get("p99", 0),
            st=fmt_counts(r.get("status")), e409=fmt_counts(r.get("expected_409")),
            bad=fmt_counts(r.get("unexpected")),
            se="{}/{}/{}/{}".format(se.get("connect", 0), se.get("read", 0), se.get("write", 0), se.get("timeout", 0)),
            rss=r.get("server_rss_mib_max", "-"), cpu=r.get("server_cpu_ms_per_request", "-")))
    lines.append("\nPer operation (count, p50/p95/p99 ms):\n")
    lines.append("| conns | " + " | ".join(OPS) + " |")
    lines.append("|---|" + "---|" * len(OPS))
    for r in results["levels"]:
        cells = []
        for op in OPS:
            o = r.get("ops", {}).get(op, {})
            cells.append("{n} ({p50:.0f}/{p95:.0f}/{p99:.0f})".format(
                n=o.get("n", 0), p50=o.get("p50_ms", 0), p95=o.get("p95_ms", 0), p99=o.get("p99_ms", 0)))
        lines.append(f"| {r['level']} | " + " | ".join(cells) + " |")
    if args.server_pid:
        results["rss_mib_end"] = round(tree_rss_mib(args.server_pid), 1)
        lines.append(f"\nServer RSS (PID tree {args.server_pid}): start {results['rss_mib_start']} MiB, end {results['rss_mib_end']} MiB")
    report = "\n".join(lines)
    print(report)
    results["report_markdown"] = report
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)
        print(f"\nresults written to {args.out}")


if __name__ == "__main__":
    main()
