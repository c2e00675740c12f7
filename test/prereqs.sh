#!/usr/bin/env bash
# Checks the system tools the tests need. As root, installs what is missing
# with apt-get; otherwise stops with the exact command to run.
set -euo pipefail

declare -A need=(
  [/usr/sbin/sshd]=openssh-server   # SFTP tests run a real OpenSSH server on loopback
  [sqlite3]=sqlite3                 # bench baseline and corrupt-database fixtures
  [zstd]=zstd                       # bench baseline and cross-checks of our .zst artifacts
  [/usr/bin/chromium]=chromium      # the audit HTML is rendered in a real headless browser
  [age]=age                         # interop: an encrypted artifact must open with the age CLI
  [moto_server]=python3-moto        # strict S3 server (moto 5 via pip is preferred; Debian's is the fallback)
)

missing=()
for tool in "${!need[@]}"; do
  if [[ "$tool" == /* ]]; then [[ -x "$tool" ]] || missing+=("${need[$tool]}")
  else command -v "$tool" >/dev/null 2>&1 || missing+=("${need[$tool]}"); fi
done
# The container suites (testcontainers): an engine and locally built images.
# Best effort: where they cannot be had, those suites skip with a note and
# everything else still runs. TRIPLICATE_NO_DOCKER=1 skips this step.
containers() {
  [[ -n "${TRIPLICATE_NO_DOCKER:-}" ]] && return 0
  local dir
  dir="$(dirname "$0")/containers"
  # Bounded, so a slow mirror cannot eat CI's budget (cold build measured ~2.5 min here, warm <1 s).
  if bash "$dir/engine.sh" && timeout 600 bash "$dir/build.sh"; then return 0; fi
  echo "prereqs: the container suites will skip (see above); the loopback suites still run" >&2
}

if ((${#missing[@]} == 0)); then containers; exit 0; fi

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
cmd="apt-get update && apt-get install -y --no-install-recommends ${pkgs[*]}"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "prereqs: installing ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  containers
else
  echo "prereqs: the tests need ${pkgs[*]}. Install with:" >&2
  echo "  sudo sh -c '$cmd'" >&2
  containers
  exit 1
fi
