#!/usr/bin/env bash
# Runs the Go tests and the browser tests side by side (make test). Each suite waits much of its
# time on servers, timers and rules, so together they keep both cores busy where one after the
# other left one idle. The browser suite's report is printed whole when it ends, after the Go
# suite's, so the two do not interleave. Fails if either fails.
# Usage: scripts/test-suites.sh BINARY (the server the browser tests start).
set -uo pipefail
cd "$(dirname "$0")/.."
binary=$1
web_log=$(mktemp)
trap 'rm -f "$web_log"' EXIT
(cd mapui/web && BW_WEB_TEST_REAL=1 BW_BINARY="$binary" npm test >"$web_log" 2>&1) &
web=$!
"${GO:-go}" test -count=1 -timeout 20m ./...
go_status=$?
wait "$web"
web_status=$?
echo "--- browser tests (mapui/web, npm test) ---"
cat "$web_log"
echo "--- go test: exit $go_status; browser tests: exit $web_status ---"
[ "$go_status" = 0 ] && [ "$web_status" = 0 ]
