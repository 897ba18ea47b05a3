#!/usr/bin/env bash
# Runs all checks and tests: test dependencies, gofmt, go vet, go test.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.26.11

if [ "$(id -u)" -eq 0 ]; then
    bash ./scripts/install-test-deps.sh
else
    # Not root: only report; tests needing a missing tool skip or fail on their own.
    bash ./scripts/install-test-deps.sh || echo "test.sh: warning: some test dependencies are missing" >&2
fi

# h2spec (HTTP/2 conformance) is a Go program: e2e/h2_test.go runs it.
if ! command -v h2spec >/dev/null && [ ! -x "$(go env GOPATH)/bin/h2spec" ]; then
    echo "== installing h2spec"
    go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
fi

echo "== gofmt"
# testdata may hold deliberately unformatted files; go tooling ignores it too.
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
    echo "gofmt: these files need formatting:" >&2
    echo "$unformatted" >&2
    exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
go test -count=1 -timeout 22m ./... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] && exit 0

# The e2e suite runs real peers on a shared 2-core machine; a timing test can
# lose a race to load once. Its failures (at most 3, e2e only, no build error,
# panic or timeout) get one more run on their own; a test that fails again
# fails the run. Whatever passed only on the second run is named here so it
# gets fixed, not forgotten.
failed=$(grep -E '^--- FAIL: ' "$log" | awk '{print $3}' | sort -u)
failed_pkgs=$(grep -E '^FAIL[[:space:]]+[^[:space:]]+' "$log" | awk '{print $2}' | sort -u)
if [ -z "$failed" ] || [ "$failed_pkgs" != "dhproxy/e2e" ] || [ "$(echo "$failed" | wc -l)" -gt 3 ] ||
    grep -qE '^panic: |\[build failed\]|\[setup failed\]' "$log"; then
    exit "$rc"
fi
pattern="^($(echo "$failed" | paste -sd'|'))\$"
echo "== go test: e2e failed $pattern once; running those tests again"
if go test -count=1 -timeout 5m ./e2e/ -run "$pattern" -v; then
    echo "== FLAKY (failed once under load, passed again): $failed"
    exit 0
fi
exit "$rc"
