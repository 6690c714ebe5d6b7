#!/usr/bin/env bash
# Load comparison against nginx on this machine (not run in CI: too slow, too noisy).
#
#   benches/load/run.sh [SECONDS] [ROUNDS]        default 10 s per run, 3 interleaved rounds
#   MFAGATE_BIN=path benches/load/run.sh          measure another mfagate build (FLOOR_BIN: floor)
#   PERF=/tmp/auth.data benches/load/run.sh        also profile mfagate's first authenticated run
#   HOLD=1 benches/load/run.sh                     only start the targets and print their URLs
#   benches/load/run.sh 10 0                       only the idle-connection memory test
#   IDLE=0 benches/load/run.sh                     without the idle-connection memory test
#
# Starts an nginx origin (a 1 KiB page, and a /login that sets a session cookie and names
# the user), nginx as a TLS reverse proxy in front of it, the floor (examples/floor_proxy.rs:
# the smallest proxy built on mfagate's own stack, no log, no session) and mfagate in front of it
# (`workers = 1`, access log on, MFA required; the session signed in through the real login
# interception with a TOTP code computed from the setup key). The proxies run on CPU 1, the
# load generators and the origin on CPU 0 (when there are two cores). Each round runs, per
# target: wrk (HTTP/1.1, 50 keep-alive connections), h2load (HTTP/2, 64 connections x 10
# streams) and wrk with 1,024 connections; then idle keep-alive memory with 5,000
# connections. Every response must be a proxied 200: the origin's request count must match.
# Prints medians: req/s, p50/p99, CPU µs per request (from /proc/PID/stat), RSS, and the
# ratios to nginx. Installs nginx, wrk and nghttp2-client (h2load) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
rounds="${2:-3}"
host=bench.mfagate.test

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
  echo "== installing ${need[*]}" >&2
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
# The targets are addressed by name (SNI and Host), on the loopback interface.
grep -q " $host\$" /etc/hosts || echo "127.0.0.1 $host" >> /etc/hosts
ulimit -n "$(ulimit -Hn)"   # 5,000 idle connections need the headroom

if [[ -z "${MFAGATE_BIN:-}" ]]; then
  cargo build --release --quiet
  MFAGATE_BIN="$PWD/target/release/mfagate"
fi
if [[ -z "${FLOOR_BIN:-}" ]]; then
  cargo build --release --quiet --example floor_proxy
  FLOOR_BIN="$PWD/target/release/examples/floor_proxy"
fi
cpus=$(nproc)
if ((cpus >= 2)); then proxy_cpu=1; load_cpu=0; else proxy_cpu=0; load_cpu=0; fi
on_load() { taskset -c "$load_cpu" "$@"; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- certificates, page, origin -------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
mkdir -p "$work/www" "$work/data"
head -c 1024 /dev/zero | tr '\0' 'x' > "$work/www/page.html"
chmod 755 "$work" "$work/www" && chmod 644 "$work/www/page.html"   # nginx workers are unprivileged
origin_port=$(free_port)
nginx_port=$(free_port)
cat > "$work/origin.conf" <<EOF
worker_processes 1; daemon off; pid $work/origin.pid; error_log $work/origin-error.log;
events { worker_connections 8192; }
http {
  access_log $work/origin-access.log; keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$origin_port; root $work/www;
    location = /login { default_type application/json;
      add_header Set-Cookie "sid=origin-session; Path=/; HttpOnly" always;
      return 200 '{"user":"bench@mfagate.test"}'; }
    location = /logout { return 200 'bye'; }
  }
}
EOF
(exec taskset -c "$load_cpu" nginx -c "$work/origin.conf" -p "$work") & pids+=($!)

# --- nginx as the TLS reverse proxy (its best settings here, access log on) ------------------
cat > "$work/proxy.conf" <<EOF
worker_processes 1; daemon off; pid $work/proxy.pid; error_log $work/proxy-error.log;
worker_rlimit_nofile 16384;
events { worker_connections 16384; }
http {
  access_log $work/proxy-access.log; keepalive_requests 100000000;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 1024; }
  server {
    listen 127.0.0.1:$nginx_port ssl http2; server_name $host;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.3;
    location / { proxy_pass http://origin; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; }
  }
}
EOF
(exec taskset -c "$proxy_cpu" nginx -c "$work/proxy.conf" -p "$work") & pids+=($!)

# --- the floor: the smallest proxy on mfagate's own stack (examples/floor_proxy.rs) -----------
(exec taskset -c "$proxy_cpu" "$FLOOR_BIN" "$work/cert.pem" "$work/key.pem" "127.0.0.1:$origin_port" > "$work/floor.out") & pids+=($!)
floor_pid=${pids[2]}

# --- mfagate ---------------------------------------------------------------------------------
head -c 32 /dev/urandom | base64 > "$work/master.key"
cat > "$work/mfagate.toml" <<EOF
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
workers = 1
data_dir = "$work/data"
[log]
format = "json"
level = "info"
[secrets]
keys = [{ file = "$work/master.key" }]
[[environments]]
name = "bench"
display_name = "Bench"
hosts = ["$host"]
upstream = "http://127.0.0.1:$origin_port"
mfa = "required"
methods = ["totp", "backup"]
[environments.tls]
cert = "$work/cert.pem"
key = "$work/key.pem"
[environments.login]
routes = [{ method = "POST", path = "/login", format = "json" }]
session_cookies = ["sid"]
username_request_pointer = "/email"
username_response_pointer = "/user"
login_page = "/login"
logout = { method = "POST", path = "/logout" }
EOF
(exec taskset -c "$proxy_cpu" "$MFAGATE_BIN" serve --config "$work/mfagate.toml" 2> "$work/mfagate.log") & pids+=($!)
for _ in $(seq 100); do
  gw_port=$(grep -o '"https":"127.0.0.1:[0-9]*"' "$work/mfagate.log" 2>/dev/null | grep -o '[0-9]*"$' | tr -d '"' || true)
  [[ -n "$gw_port" ]] && break; sleep 0.1
done
[[ -n "${gw_port:-}" ]] || { echo "mfagate did not start:"; cat "$work/mfagate.log"; exit 1; }
mfagate_pid=${pids[3]}
sleep 0.5
nginx_pid=$(pgrep -P "${pids[1]}" | head -1)   # the worker
[[ -n "$nginx_pid" ]] || { echo "nginx did not start:"; cat "$work/proxy-error.log"; exit 1; }
floor_port=$(grep -o '[0-9]*$' "$work/floor.out")
cookie=$(python3 benches/load/client.py login "https://$host:$gw_port" bench@mfagate.test)
gw="https://$host:$gw_port/page.html"
ngx="https://$host:$nginx_port/page.html"
floor="https://$host:$floor_port/page.html"

# --- measuring ---------------------------------------------------------------------------------
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
origin_count() { wc -l < "$work/origin-access.log"; }
results="$work/results"
touch "$results"
# measure NAME PID TOOL ARGS...: one run, one line "NAME TOOL req/s p50_ms p99_ms cpu_us"
measure() {
  local name=$1 pid=$2 tool=$3; shift 3
  local t0 c0 out t1 c1 n rps p50 p99
  t0=$(cpu_ticks "$pid"); c0=$(origin_count)
  out=$(on_load "$@" 2>&1)
  t1=$(cpu_ticks "$pid"); c1=$(origin_count)
  if [[ $tool == h2load ]]; then
    n=$(echo "$out" | awk '/^requests:/{print $8}')   # succeeded
    rps=$(echo "$out" | awk '/^finished in/{gsub(",","",$4); print $4}')
    p50=$(echo "$out" | awk '/^time for request:/{print $6}')
    p99="-"
    [[ $(echo "$out" | awk '/^status codes:/{print $3}') == "$n" ]] || { echo "$name: not every h2 response was a 200"; echo "$out"; exit 1; }
  else
    n=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    p50=$(echo "$out" | awk '$1=="50%"{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    if echo "$out" | grep -q 'Non-2xx'; then echo "$name: non-2xx answers"; echo "$out"; exit 1; fi
  fi
  # wrk counts requests still in flight when it stops; allow those (one per connection).
  local proxied=$((c1 - c0))
  ((proxied >= n - 1100 && proxied <= n + 1100)) || { echo "$name $tool: $n answers but $proxied reached the origin"; exit 1; }
  awk -v a="$name" -v b="$tool" -v r="$rps" -v p="$p50" -v q="$p99" -v d="$((t1 - t0))" -v t="$(getconf CLK_TCK)" -v n="$n" \
    'BEGIN{printf "%s %s %s %s %s %.1f\n", a, b, r, p, q, d/t*1e6/n}' | tee -a "$results"
}
# HOLD=1: keep the targets up for manual measuring instead of running the comparison.
if [[ -n "${HOLD:-}" ]]; then
  printf 'nginx %s\nmfagate %s (pid %s)\ncookie %s\n' "$ngx" "$gw" "$mfagate_pid" "$cookie"
  sleep infinity
fi

# Memory first, on fresh processes: RSS per idle keep-alive connection, and after they close.
touch "$work/idle"
if [[ "${IDLE:-1}" == 1 ]]; then
  echo "== idle keep-alive connections (5,000 each)"
  echo "nginx $(python3 benches/load/client.py idle "$ngx" 5000 "x=1" "$nginx_pid")" > "$work/idle"
  echo "mfagate $(python3 benches/load/client.py idle "$gw" 5000 "$cookie" "$mfagate_pid")" >> "$work/idle"
fi

for round in $(seq "$rounds"); do
  echo "== round $round"
  measure nginx "$nginx_pid" wrk wrk -t1 -c50 -d"${secs}s" --latency "$ngx"
  measure floor "$floor_pid" wrk wrk -t1 -c50 -d"${secs}s" --latency "$floor"
  measure mfagate-anonymous "$mfagate_pid" wrk wrk -t1 -c50 -d"${secs}s" --latency "$gw"
  # PERF=FILE: a profile of mfagate (call graphs) during the first authenticated run.
  if [[ $round == 1 && -n "${PERF:-}" ]]; then
    perf record -g -p "$mfagate_pid" -o "$PERF" -- sleep "$secs" >/dev/null 2>&1 &
  fi
  measure mfagate-authenticated "$mfagate_pid" wrk wrk -t1 -c50 -d"${secs}s" --latency -H "Cookie: $cookie" "$gw"
  measure nginx-h2 "$nginx_pid" h2load h2load -c64 -m10 -D "$secs" "$ngx"
  measure floor-h2 "$floor_pid" h2load h2load -c64 -m10 -D "$secs" "$floor"
  measure mfagate-h2 "$mfagate_pid" h2load h2load -c64 -m10 -D "$secs" -H "cookie: $cookie" "$gw"
  measure nginx-1024 "$nginx_pid" wrk wrk -t1 -c1024 -d"${secs}s" --latency "$ngx"
  measure floor-1024 "$floor_pid" wrk wrk -t1 -c1024 -d"${secs}s" --latency "$floor"
  measure mfagate-1024 "$mfagate_pid" wrk wrk -t1 -c1024 -d"${secs}s" --latency -H "Cookie: $cookie" "$gw"
done


echo "== medians over $rounds round(s)"
python3 - "$results" "$work/idle" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, tool, rps, p50, p99, cpu = line.split()
    rows.setdefault(name, []).append((float(rps), p50, p99, float(cpu)))
def med(name, i):
    return statistics.median(r[i] for r in rows[name])
def ms(v):
    return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
print(f"{'target':24} {'req/s':>9} {'CPU us/req':>11} {'p99 ms':>8} {'req/s vs nginx':>15} {'CPU vs nginx':>13}")
for name, base in [("nginx", "nginx"), ("floor", "nginx"), ("mfagate-anonymous", "nginx"), ("mfagate-authenticated", "nginx"),
                   ("nginx-h2", "nginx-h2"), ("floor-h2", "nginx-h2"), ("mfagate-h2", "nginx-h2"),
                   ("nginx-1024", "nginx-1024"), ("floor-1024", "nginx-1024"), ("mfagate-1024", "nginx-1024")]:
    if name not in rows:
        continue
    p99s = [ms(r[2]) for r in rows[name] if r[2] != "-"]
    p99 = f"{statistics.median(p99s):.2f}" if p99s else "-"
    print(f"{name:24} {med(name,0):9.0f} {med(name,3):11.1f} {p99:>8} {med(name,0)/med(base,0):15.2f} {med(name,3)/med(base,3):13.2f}")
# mfagate against the floor: what mfagate's own work costs on the same stack.
for name, base in [("mfagate-anonymous", "floor"), ("mfagate-authenticated", "floor"), ("mfagate-h2", "floor-h2"), ("mfagate-1024", "floor-1024")]:
    if name in rows and base in rows:
        print(f"{name} vs the floor: req/s {med(name,0)/med(base,0):.2f}x, CPU {med(name,3)/med(base,3):.2f}x")
for line in open(sys.argv[2]):
    name, data = line.split(" ", 1)
    d = json.loads(data)
    back = max(d["after_kib"][-5:])
    print(f"{name}: {d['per_connection_kib']:.1f} KiB RSS per idle connection; RSS {d['before_kib']} KiB before, "
          f"{d['open_kib']} with 5,000 open, {back} KiB 30 s after closing ({back/d['before_kib']:.2f}x the start)")
EOF
