#!/usr/bin/env bash
# Makes sure a Docker engine answers for the container suites. As root:
# installs Debian's docker.io and debootstrap when missing, then starts
# dockerd in the background when nothing answers (log under /var/tmp).
# As non-root: prints the install/start command and returns 1, so the
# container suites skip with a visible note. Never fails the loopback tests.
set -uo pipefail

LOG=/var/tmp/triplicate-dockerd.log
WAIT_SECONDS=${TRIPLICATE_DOCKERD_WAIT:-30}

answers() { timeout 5 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then exit 0; fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)

if [[ $(id -u) -ne 0 ]]; then
  {
    echo "prereqs: no Docker engine answers; the container suites will skip."
    ((${#missing[@]})) && echo "  to run them: sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends ${missing[*]}'"
    echo "  start the engine: sudo sh -c 'dockerd > $LOG 2>&1 &'  and run: sudo bash test/prereqs.sh"
  } >&2
  exit 1
fi

if ((${#missing[@]})); then
  echo "prereqs: installing ${missing[*]} (for the container suites)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d may deny starting the service; we start dockerd ourselves below.
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || {
    echo "prereqs: could not install ${missing[*]}; the container suites will skip" >&2
    exit 1
  }
fi

if ! answers; then
  echo "prereqs: starting dockerd in the background (log: $LOG)" >&2
  # setsid: the engine outlives this script and is not in the test run's process group.
  setsid dockerd --host unix:///var/run/docker.sock >>"$LOG" 2>&1 < /dev/null &
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    answers && break
    sleep 0.5
  done
  if ! answers; then
    echo "prereqs: dockerd did not answer within ${WAIT_SECONDS}s; the container suites will skip. Last lines of $LOG:" >&2
    tail -n 15 "$LOG" >&2
    exit 1
  fi
fi
exit 0
