#!/usr/bin/env bash
# Runs every test, doing its own set-up: installs the system packages the suite drives for
# real (redis-server, Chromium and its driver, curl) when they are missing, then the whole
# suite without stopping at the first failing test binary.
#
# On Debian or Ubuntu, as root (or with sudo), the packages are installed with apt-get. On
# other systems install them yourself first:
#   redis-server (7 or later), chromium + chromedriver (same version), curl with HTTP/2,
#   a C compiler (cc), and a Rust toolchain (rustup, stable).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cc >/dev/null || missing+=(build-essential)
# The page tests drive a real headless Chromium through chromedriver.
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v chromedriver >/dev/null || [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# The Redis backend is tested against real redis-server child processes.
command -v redis-server >/dev/null || missing+=(redis-server)
# The HTTP/2 early-answer test drives curl (nghttp2) as a real client.
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]} (install these Debian package equivalents, then rerun)" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install a Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi

echo "== cargo test --no-fail-fast"
exec cargo test --no-fail-fast "$@"
