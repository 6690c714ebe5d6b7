#!/usr/bin/env bash
# Runs every test, doing its own set-up: installs the system packages the suite drives for
# real (redis-server, Chromium and its driver, curl) when they are missing, then the whole
# suite without stopping at the first failing test binary.
#
# On Debian or Ubuntu, as root (or with sudo), the packages are installed with apt-get. On
# other systems install them yourself first:
#   redis-server (7 or later), chromium + chromedriver (same version), curl with HTTP/2,
#   npm (the page tests fetch axe-core with it), systemd (systemd-analyze), a C compiler (cc), and a Rust toolchain
#   (rustup, stable).
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
# The systemd unit in config/ is checked with systemd-analyze verify.
command -v systemd-analyze >/dev/null || missing+=(systemd)
# The page tests check accessibility with axe-core, fetched from the npm registry.
command -v npm >/dev/null || missing+=(npm)
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

# axe-core, pinned by version and integrity, unpacked where the page tests look for it
# (target/axe-core/axe.min.js). A tarball that does not match the pinned hash is refused.
AXE_VERSION=4.14.1
AXE_INTEGRITY=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
axe_dir=target/axe-core
if [ "$(cat "$axe_dir/VERSION" 2>/dev/null)" != "$AXE_VERSION" ]; then
  echo "== fetching axe-core $AXE_VERSION from the npm registry"
  rm -rf "$axe_dir" && mkdir -p "$axe_dir"
  (cd "$axe_dir" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  tarball="$axe_dir/axe-core-$AXE_VERSION.tgz"
  got=$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tarball")
  if [ "$got" != "$AXE_INTEGRITY" ]; then
    echo "axe-core $AXE_VERSION does not match its pinned integrity ($got)" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$axe_dir" package/axe.min.js package/LICENSE
  mv "$axe_dir/package/axe.min.js" "$axe_dir/package/LICENSE" "$axe_dir/"
  echo "$AXE_VERSION" > "$axe_dir/VERSION"
fi

echo "== cargo test --no-fail-fast"
exec cargo test --no-fail-fast "$@"
