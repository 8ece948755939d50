#!/usr/bin/env bash
# Runs the examples as a user would, as one ctest entry: the seed's two-step example twice, the
# checkout example as two processes (checkout + payment webhook) on one embedded SQLite file,
# including a checkout process killed while it waits for the payment and started again, the
# pipeline worker with a client enqueueing to it from another program, and the scheduled cleanup
# job for three ticks.
#   scripts/examples_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
unset DBOS_SYSTEM_DATABASE_URL
fail() { echo "examples_test: $*" >&2; exit 1; }

out=$("$build/examples/two_steps")
grep -q "Step one completed" <<<"$out" || fail "two_steps did not run step one: $out"
grep -q "Workflow result: success" <<<"$out" || fail "two_steps result: $out"

# Checkout: start, kill it while it waits for the payment, start it again, then pay.
"$build/examples/checkout" start order-1 >"$work/first.log" 2>&1 &
first=$!
for _ in $(seq 1 100); do grep -q "reserved inventory" "$work/first.log" && break; sleep 0.1; done
sleep 0.3
{ kill -9 "$first" && wait "$first"; } 2>/dev/null || true
"$build/examples/checkout" start order-1 >"$work/second.log" 2>&1 &
second=$!
"$build/examples/checkout" pay order-1 paid >"$work/webhook.log" 2>&1 || fail "webhook failed: $(cat "$work/webhook.log")"
wait "$second" || fail "checkout failed: $(cat "$work/second.log")"
grep -q "payments.example/pay/order-1" "$work/webhook.log" || fail "webhook did not read the URL"
grep -q "order order-1 paid and shipped" "$work/second.log" || fail "checkout result: $(cat "$work/second.log")"
if grep -q "reserved inventory" "$work/second.log"; then fail "the reserve step ran again"; fi
# Enqueue from another application: a worker, and a client that has none of its code.
"$build/examples/pipeline_worker" >"$work/worker.log" 2>&1 &
worker=$!
for _ in $(seq 1 100); do grep -q "ready" "$work/worker.log" && break; sleep 0.1; done
out=$("$build/examples/pipeline_client" task-123 data 2>&1) || fail "pipeline_client failed: $out"
grep -q "result: stored clean(data) (done)" <<<"$out" || fail "pipeline_client result: $out"
out=$("$build/examples/pipeline_client" task-123 other 2>&1) || fail "pipeline_client again: $out"
grep -q "result: stored clean(data) (done)" <<<"$out" || fail "task-123 ran twice: $out"
kill -TERM "$worker"
wait "$worker" || fail "pipeline_worker failed: $(cat "$work/worker.log")"
[[ $(grep -c "cleaning" "$work/worker.log") == 1 ]] || fail "worker log: $(cat "$work/worker.log")"

# The scheduled cleanup job runs three ticks by itself and exits.
out=$("$build/examples/scheduled_cleanup") || fail "scheduled_cleanup failed: $out"
grep -q "three cleanups done" <<<"$out" || fail "scheduled_cleanup: $out"
grep -q "removed 2 file(s)" <<<"$out" || fail "scheduled_cleanup removed no expired file: $out"

echo "examples_test: 4 passed, 0 failed"
