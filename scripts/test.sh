#!/usr/bin/env bash
# The whole test suite, from a clean clone: starts the services it needs, then vet, gofmt
# and every test with the race detector. Extra arguments go to `go test` (e.g. -run X).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh
scripts/tryton.sh
scripts/chromium.sh

echo "== go vet"
go vet ./...
echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go test"
go test -race -count=1 -timeout 30m "${@:-./...}"
