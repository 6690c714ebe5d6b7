#!/usr/bin/env bash
# Load comparison: the demo dashboard measured directly (plain HTTP) and through the gateway
# (TLS), side by side with wrk, printing requests/s, latency and the ratio.
#
#   benches/load/run.sh [DURATION_SECS] [CONNECTIONS]
#
# Everything runs on 127.0.0.1. Installs wrk with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10}"
conns="${2:-50}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
cargo build --release --quiet

work=$(mktemp -d)
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The demo prints both addresses: the gateway (https://localhost:PORT/) and the dashboard.
(cd "$work" && MFAGATE_LOG=warn exec "$OLDPWD/target/release/mfagate" demo --listen 127.0.0.1:0 >"$work/out" 2>"$work/err") &
pid=$!
for _ in $(seq 100); do grep -q 'open:' "$work/out" 2>/dev/null && break; sleep 0.1; done
gateway=$(awk '/open:/{print $2}' "$work/out")
direct=$(awk '/dashboard:/{print $2}' "$work/out")
[[ -n "$gateway" && -n "$direct" ]] || { echo "demo did not start:"; cat "$work/out" "$work/err"; exit 1; }

path="static/app.css"
run() { wrk -t2 -c"$conns" -d"${duration}s" --latency "$1$path" 2>&1; }
echo "== direct:  ${direct}/$path"
d=$(run "$direct/"); echo "$d" | grep -E 'Requests/sec|Latency|99%'
echo "== gateway: ${gateway}$path  (TLS, $(nproc) cores shared with wrk)"
g=$(run "$gateway"); echo "$g" | grep -E 'Requests/sec|Latency|99%'
rd=$(echo "$d" | awk '/Requests\/sec/{print $2}')
rg=$(echo "$g" | awk '/Requests\/sec/{print $2}')
awk -v d="$rd" -v g="$rg" 'BEGIN{printf "ratio gateway/direct requests/s: %.2f\n", g/d}'
