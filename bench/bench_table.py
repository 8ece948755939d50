#!/usr/bin/env python3
"""Builds the side-by-side benchmark table (C++ SQLite, C++ PostgreSQL, DBOS TypeScript peer).

Reads the RESULT JSON files dbos_bench wrote (--json) and the peer's latest.json, prints a markdown
section (machine line, command, table) and, with --doc, writes it into docs/benchmarks.md between
the markers <!-- bench:begin --> and <!-- bench:end --> (text outside them is kept; the file is
created with a short introduction when missing). Standard library only.

  bench_table.py --sqlite A.json --postgres B.json [--peer latest.json] [--peer-note TEXT]
                 --machine TEXT --command TEXT [--doc docs/benchmarks.md]
"""
import argparse
import json
import os
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

INTRO = """# Benchmarks

How fast DBOS Transact for C++ runs durable workflows, measured side by side with the DBOS
Transact TypeScript SDK (the peer) on the same machine in one run.

Rerun everything (build, a throwaway PostgreSQL, both C++ backends, the peer, this table) with:

```sh
bash bench/run.sh                      # full run, about a minute (+ the peer's first npm install)
SEQ_N=100 CONC_N=500 REC_N=200 bash bench/run.sh   # quicker, smaller counts
SKIP_PEER=1 bash bench/run.sh          # reuse the peer's last result
```

The program alone: `build/release/bench/dbos_bench --backend sqlite|postgres [--url URL]
[--only seq,conc,recovery] [--json FILE]`; it prints a table and a final `RESULT <json>` line.

What the rows mean (every measurement starts on a fresh database: a new SQLite file, a new
PostgreSQL schema; on PostgreSQL each measurement's schemas are dropped when it ends and the
server checkpoints, so that the next one does not share the server with autovacuum working
through the last one's rows or with the flush of its WAL (until 2026-11-30 the queue measurement
ran right after the 200,000 workflows of the waiting one). The peer's script runs its tests one
after the other on one database, its waiting test (the largest) last, and drops nothing):

- **0-, 1-, 10-step workflow p50/p99**: latency of one workflow with that many no-op steps,
  started with `RunWorkflow` and awaited with `GetResult`, one after the other; 50 warm-up calls,
  then 500 timed calls (the peer calls its workflow function and awaits it).
- **per additional step**: (p50 of 10 steps − p50 of 0 steps) / 10, the cost of one checkpoint.
- **concurrent steps/s, workflows/s**: 2000 workflows of 3 no-op steps started at once, then all
  awaited; median of 3 runs after a 100-workflow warm-up.
- **recovery of 1000**: a child process starts 1000 workflows that block in their second step and
  is SIGKILLed; a fresh process then creates its context and launches (which recovers them).
  Time from `NewDBOSContext` (the peer: from `DBOS.launch()`, which connects and migrates too) until
  all 1000 have finished. "all done": for both, once the in-memory count of returned bodies
  reached 1000, until one query (polled every 2 ms) saw all 1000 rows SUCCESS (C++: with result 3,
  by `ListWorkflows`; the peer: a SQL count). C++ then checks every handle's `GetResult` (not
  timed; before 5f95ace it was timed, one handle after the other, about 60–140 ms more). "last body returned": C++ only up to its in-memory count (the peer's column
  repeats its one figure), the closest C++ match of what the peer times.
- **queue**: 5000 workflows of one no-op step enqueued (`RunWorkflow` with `WithQueue`) on a queue
  with worker concurrency 50, after a 100-workflow warm-up, three rounds for C++ (`QUEUE_RUNS`;
  the median enqueue rate and the median drain rate are reported, each over the rounds; the peer
  runs one round per polling interval). Enqueue rate: the 5000 calls (C++: from 10
  threads at once; the peer: all 5000 started at once over its pool of 10 connections); drain
  rate: from the first enqueue to the last result. The peer enqueues with `DBOS.startWorkflow` on
  a queue with the same concurrency; its column shows its run with 10 ms polling (its default is
  1 s). Enqueue → start: 200 single enqueues on the idle runner, one after the other, timed from
  the call to the workflow's first line (C++ only). Backlog: 20,000 workflows enqueued by a
  `Client` before the application launches, then drained by it (from `Launch` to the last one
  done; C++ only): the drain of a deep queue without enqueues competing for the CPU.
- **peak RSS**: VmHWM of the benchmark process at the end of the concurrent test (the peer: Node's
  maxRSS at the same point), and of the recovering process.

Targets apply to PostgreSQL. Latencies are percentiles of 500 calls, throughput is the median of 3
runs, recovery is one run: all on a shared, noisy 2-core machine, so expect ±20 % between runs.
SQLite runs in WAL mode with `synchronous=NORMAL` (no fsync per commit); PostgreSQL runs with its
default settings (`fsync=on`, `synchronous_commit=on`).
"""


def load(path):
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dig(data, *keys):
    """data[k0][k1]…, or None when any level is missing or holds an error."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def cpp_metrics(result):
    seq = lambda steps, key: dig(result, "seq", steps, key)
    return {
        "p50_0": seq("0", "p50_ms"),
        "p99_0": seq("0", "p99_ms"),
        "per_step": dig(result, "seq", "per_step_ms"),
        "p50_1": seq("1", "p50_ms"),
        "p50_10": seq("10", "p50_ms"),
        "steps_s": dig(result, "conc", "median_steps_per_s"),
        "wf_s": dig(result, "conc", "median_wf_per_s"),
        "recovery": dig(result, "recovery", "launch_to_all_done_ms"),
        "recovery_bodies": dig(result, "recovery", "launch_to_bodies_done_ms"),
        "rss": dig(result, "conc", "peak_rss_mb"),
        "rss_rec": dig(result, "recovery", "peak_rss_mb"),
        "send_recv_p50": dig(result, "msg", "send_to_recv_oneway", "p50_ms"),
        "send_recv_p99": dig(result, "msg", "send_to_recv_oneway", "p99_ms"),
        "event_p50": dig(result, "msg", "setEvent_to_waiting_getEvent", "p50_ms"),
        "event_p99": dig(result, "msg", "setEvent_to_waiting_getEvent", "p99_ms"),
        "wait_start": dig(result, "wait", "recv", "start_per_s"),
        "wait_release": dig(result, "wait", "recv", "release_per_s"),
        "wait_rss": dig(result, "wait", "recv", "peak_rss_mb"),
        "wait_threads": dig(result, "wait", "recv", "peak_threads"),
        "sleep_start": dig(result, "wait", "sleep", "start_per_s"),
        "sleep_release": dig(result, "wait", "sleep", "release_per_s"),
        "sleep_rss": dig(result, "wait", "sleep", "peak_rss_mb"),
        "sleep_threads": dig(result, "wait", "sleep", "peak_threads"),
        "queue_enqueue": dig(result, "queue", "enqueue_per_s"),
        "queue_drain": dig(result, "queue", "drain_per_s"),
        "queue_start_p50": dig(result, "queue", "enqueue_to_start", "p50_ms"),
        "queue_start_p99": dig(result, "queue", "enqueue_to_start", "p99_ms"),
        "queue_backlog": dig(result, "queue", "backlog", "drain_per_s"),
    }


def peer_metrics(peer):
    seq = lambda label, key: dig(peer, "main", "sequential", label, key)
    p0, p10 = seq("0 steps", "p50_ms"), seq("10 steps", "p50_ms")
    return {
        "p50_0": p0,
        "p99_0": seq("0 steps", "p99_ms"),
        "per_step": (p10 - p0) / 10 if p0 is not None and p10 is not None else None,
        "p50_1": seq("1 step", "p50_ms"),
        "p50_10": p10,
        "steps_s": dig(peer, "main", "concurrent", "median_steps_per_s"),
        "wf_s": dig(peer, "main", "concurrent", "median_wf_per_s"),
        "recovery": dig(peer, "recovery", "launch_to_all_done_ms"),
        "recovery_bodies": dig(peer, "recovery", "launch_to_all_done_ms"),
        "rss": dig(peer, "main", "concurrent", "rss_after", "max_rss_mb"),
        "rss_rec": None,
        "send_recv_p50": dig(peer, "main", "messaging", "send_to_recv_oneway", "p50_ms"),
        "send_recv_p99": dig(peer, "main", "messaging", "send_to_recv_oneway", "p99_ms"),
        "event_p50": dig(peer, "main", "messaging", "setEvent_to_waiting_getEvent", "p50_ms"),
        "event_p99": dig(peer, "main", "messaging", "setEvent_to_waiting_getEvent", "p99_ms"),
        "wait_start": dig(peer, "waiters", "start_per_s"),
        "wait_release": dig(peer, "waiters", "release_per_s"),
        "wait_rss": dig(peer, "waiters", "max_rss_mb"),
        "wait_threads": None,
        "sleep_start": None,
        "sleep_release": None,
        "sleep_rss": None,
        "sleep_threads": None,
        "queue_enqueue": dig(peer_queue(peer), "enqueue_per_s"),
        "queue_drain": dig(peer_queue(peer), "e2e_wf_per_s"),
        "queue_start_p50": None,
        "queue_start_p99": None,
        "queue_backlog": None,
    }


def peer_queue(peer):
    """The peer's queue run with the shortest polling interval (its best case)."""
    runs = dig(peer, "main", "queue") or []
    runs = [r for r in runs if isinstance(r, dict) and "min_polling_interval_ms" in r]
    return min(runs, key=lambda r: r["min_polling_interval_ms"]) if runs else None


# (key, label, number format, target as (comparison, value, text) or None)
ROWS = [
    ("p50_0", "0-step workflow p50 (ms)", "{:.3f}", ("<=", 1.0, "≤ 1.0 ms")),
    ("p99_0", "0-step workflow p99 (ms)", "{:.3f}", None),
    ("per_step", "per additional step (ms)", "{:.3f}", ("<=", 0.3, "≤ 0.3 ms")),
    ("p50_1", "1-step workflow p50 (ms)", "{:.3f}", None),
    ("p50_10", "10-step workflow p50 (ms)", "{:.3f}", None),
    ("steps_s", "concurrent steps/s", "{:,.0f}", (">=", 12000, "≥ 12,000 steps/s")),
    ("wf_s", "concurrent workflows/s", "{:,.0f}", None),
    ("recovery", "recovery of {n} (ms, launch → all done)", "{:,.0f}", ("<=", 300, "≤ 0.3 s")),
    ("recovery_bodies", "recovery of {n} (ms, launch → last body returned)", "{:,.0f}", None),
    ("rss", "peak RSS after the concurrent test (MB)", "{:.1f}", ("<=", 60, "≤ 60 MB")),
    ("rss_rec", "peak RSS of the recovering process (MB)", "{:.1f}", None),
    ("send_recv_p50", "send → waiting Recv returns, p50 (ms)", "{:.3f}", ("<=", 1.0, "≤ 1 ms")),
    ("send_recv_p99", "send → waiting Recv returns, p99 (ms)", "{:.3f}", None),
    ("event_p50", "SetEvent → waiting GetEvent returns, p50 (ms)", "{:.3f}", ("<=", 1.0, "≤ 1 ms")),
    ("event_p99", "SetEvent → waiting GetEvent returns, p99 (ms)", "{:.3f}", None),
    ("wait_start", "{w:,} waiting in Recv: start rate (workflows/s, all waiting)", "{:,.0f}",
     (">=", 5000, "≥ 5,000/s")),
    ("wait_release", "{w:,} waiting in Recv: release rate (workflows/s, all returned)", "{:,.0f}",
     (">=", 5000, "≥ 5,000/s")),
    ("wait_rss", "{w:,} waiting in Recv: peak RSS (MB)", "{:,.0f}", ("<=", 500, "≤ 500 MB")),
    ("wait_threads", "{w:,} waiting in Recv: peak threads", "{:,.0f}", ("<=", 256, "≤ 256")),
    ("sleep_start", "{w:,} in Sleep({sl}): start rate (workflows/s, all waiting)", "{:,.0f}",
     (">=", 5000, "≥ 5,000/s")),
    ("sleep_release", "{w:,} in Sleep({sl}): release rate (workflows/s, from first wake-up)",
     "{:,.0f}", None),
    ("sleep_rss", "{w:,} in Sleep({sl}): peak RSS (MB)", "{:,.0f}", ("<=", 500, "≤ 500 MB")),
    ("sleep_threads", "{w:,} in Sleep({sl}): peak threads", "{:,.0f}", ("<=", 256, "≤ 256")),
    ("queue_enqueue", "queue: enqueue rate (workflows/s)", "{:,.0f}", (">=", 5000, "≥ 5,000/s")),
    ("queue_drain", "queue: {q:,} × 1 step, concurrency 50, drain rate (workflows/s)", "{:,.0f}",
     (">=", 3000, "≥ 3,000/s")),
    ("queue_start_p50", "queue: enqueue → start on an idle runner, p50 (ms)", "{:.3f}",
     ("<=", 5.0, "≤ 5 ms")),
    ("queue_start_p99", "queue: enqueue → start on an idle runner, p99 (ms)", "{:.3f}", None),
    ("queue_backlog", "queue: a backlog of {qb:,} enqueued before Launch, drain rate (workflows/s)",
     "{:,.0f}", None),
]


HIGHER_IS_BETTER = {"steps_s", "wf_s", "wait_start", "wait_release", "sleep_start", "sleep_release",
                    "queue_enqueue", "queue_drain", "queue_backlog"}


def fmt(value, pattern):
    return "n/a" if value is None else pattern.format(value)


def target_cell(target, value):
    if target is None:
        return "—"
    op, limit, text = target
    if value is None:
        return text
    met = value <= limit if op == "<=" else value >= limit
    return f"{text} ({'met' if met else 'missed'})"


def table(sqlite, postgres, peer, peer_label):
    s, p, t = cpp_metrics(sqlite or {}), cpp_metrics(postgres or {}), peer_metrics(peer or {})
    n = dig(postgres, "recovery", "n") or dig(sqlite, "recovery", "n") or 1000
    w = dig(postgres, "wait", "recv", "n") or dig(sqlite, "wait", "recv", "n") or 100000
    q = dig(postgres, "queue", "n") or dig(sqlite, "queue", "n") or 5000
    qb = dig(postgres, "queue", "backlog", "n") or dig(sqlite, "queue", "backlog", "n") or 20000
    sleep_round = dig(postgres, "wait", "sleep", "wait") or dig(sqlite, "wait", "sleep", "wait")
    sl = sleep_round[len("sleep "):] if sleep_round else "30 s"
    lines = [
        f"| metric | C++ SQLite | C++ PostgreSQL | {peer_label} | C++ PG advantage | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, label, pattern, target in ROWS:
        # How many times better C++ on PostgreSQL is than the peer (> 1: C++ is better), for
        # lower-is-better metrics (times, memory) and higher-is-better ones (throughput) alike.
        ratio = "n/a"
        if t[key] and p[key]:
            higher_is_better = key in HIGHER_IS_BETTER
            ratio = f"{(p[key] / t[key]) if higher_is_better else (t[key] / p[key]):.2f}×"
        lines.append(
            f"| {label.format(n=n, w=w, q=q, qb=qb, sl=sl)} | {fmt(s[key], pattern)} | {fmt(p[key], pattern)} | "
            f"{fmt(t[key], pattern)} | {ratio} | {target_cell(target, p[key])} |"
        )
    return "\n".join(lines)


def errors(name, result):
    out = []
    for section in ("seq", "conc", "msg", "recovery", "wait", "queue"):
        for where in ((section,), (section, "recv"), (section, "sleep"), (section, "backlog")):
            err = dig(result, *where, "error")
            if err:
                out.append(f"- {name} {' '.join(where)} failed: {err}")
    return out


def section(args):
    sqlite, postgres, peer = load(args.sqlite), load(args.postgres), load(args.peer)
    version = dig(peer, "main", "info", "dbos_sdk")
    peer_label = f"DBOS TS {version} (PostgreSQL)" if version else "DBOS TS (PostgreSQL)"
    knobs = dig(postgres, "knobs") or dig(sqlite, "knobs") or {}
    parts = [
        f"Machine: {args.machine}",
        "",
        f"Command: `{args.command}`",
        "",
        table(sqlite, postgres, peer, peer_label),
        "",
        "Counts: " + ", ".join(f"{k}={v}" for k, v in knobs.items()) + ". \"C++ PG advantage\" "
        "above 1 means C++ on PostgreSQL is ahead of the peer (faster, or lighter). The peer's "
        "waiting rows are its `waiters.js` with "
        f"{dig(peer, 'waiters', 'n') or 'n/a'} workflows waiting in recv (one Node.js process), "
        "started and released one after the other; C++ starts and releases its waiting workflows "
        f"from {dig(postgres, 'wait', 'recv', 'threads') or dig(sqlite, 'wait', 'recv', 'threads') or 1} "
        "thread(s) (`WAIT_THREADS`).",
    ]
    if args.peer_note:
        parts += ["", f"Peer: {args.peer_note}"]
    problems = errors("C++ SQLite", sqlite) + errors("C++ PostgreSQL", postgres)
    if sqlite is None:
        problems.append("- C++ SQLite: no result")
    if postgres is None:
        problems.append("- C++ PostgreSQL: no result")
    if problems:
        parts += ["", "Problems in this run:", *problems]
    return "\n".join(parts)


def write_doc(path, body):
    text = INTRO
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + block + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", required=True)
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--peer")
    parser.add_argument("--peer-note", default="")
    parser.add_argument("--machine", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--doc")
    args = parser.parse_args()
    body = section(args)
    print(body)
    if args.doc:
        write_doc(args.doc, body)
        print(f"\nwrote {args.doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
