#!/usr/bin/env bash
# Runs the NATS protocol conformance suite.
#   NATS_SERVER_KIND=nats-server (default): Debian's /usr/sbin/nats-server
#   NATS_SERVER_KIND=keel KEEL_BIN=/path/to/keel: `keel bus`
# Extra arguments go to `node --test` (e.g. --test-name-pattern=wildcard).
# CONFORMANCE_CONCURRENCY sets how many test files run at once (default 1).
set -euo pipefail
cd "$(dirname "$0")"
. ../support/skip.sh

kind="${NATS_SERVER_KIND:-nats-server}"
name="conformance.$kind"
command -v node >/dev/null 2>&1 ||
  keel_skip "$name" node "node is not installed (apt-get install nodejs npm)"
# nats.js comes from scripts/test-clients (a set-up step of make test), never
# from here: a test that reaches for the registry stalls on npm's timeouts.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  keel_skip "$name" nats.js "$(pwd)/node_modules is missing or older than its lockfile: run scripts/test-clients (make test does)"
fi

case "$kind" in
  nats-server)
    bin="${NATS_SERVER_BIN:-/usr/sbin/nats-server}"
    [ -x "$bin" ] || keel_skip "$name" nats-server "$bin is not installed (apt-get install nats-server)"
    echo "conformance: against $("$bin" --version)"
    ;;
  keel)
    if [ -z "${KEEL_BIN:-}" ] || [ ! -x "${KEEL_BIN}" ]; then
      echo "conformance: NATS_SERVER_KIND=keel needs KEEL_BIN pointing at the keel binary" >&2
      exit 2
    fi
    echo "conformance: against $KEEL_BIN bus"
    ;;
  *)
    echo "conformance: NATS_SERVER_KIND must be nats-server or keel, not '$kind'" >&2
    exit 2
    ;;
esac

# Debian 12's Node 18 has no --test-concurrency (it came with Node 20.10).
concurrency=""
if node --help 2>/dev/null | grep -q -- '--test-concurrency'; then
  concurrency="--test-concurrency=${CONFORMANCE_CONCURRENCY:-1}"
fi
exec node --test --test-reporter=spec $concurrency "$@" test/*.test.mjs
