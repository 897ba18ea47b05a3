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
go test -count=1 -timeout 22m ./...
