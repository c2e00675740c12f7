#!/usr/bin/env bash
# Shows the live progress lines of `triplicate backup` and `restore` on a real terminal, and checks them:
# runs the built CLI inside a detached tmux session (a real pty), captures the pane while it runs
# and at the end, and prints what it captured. Exit 0 when the lines were there, 1 when not,
# 77 (skipped) when tmux or sqlite3 is missing.
#   npm run build --silent && scripts/progress-demo.sh          # needs tmux and sqlite3
#   KEEP=1 scripts/progress-demo.sh                              # keep the temp folder to look at
set -euo pipefail
command -v tmux >/dev/null || { echo "SKIPPED: tmux is not installed (apt-get install tmux)"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIPPED: sqlite3 is not installed"; exit 77; }
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/dist/bin/triplicate.js"
[ -f "$bin" ] || { echo "build first: npm run build --silent"; exit 1; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/tri-progress-XXXXXX")"
session="tri-progress-$$"
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT

# ~60 MB of rows that do not compress away, so the transfer takes long enough to be seen.
sqlite3 "$dir/app.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 400000) INSERT INTO t SELECT randomblob(120) FROM n;" >/dev/null
cat >"$dir/t.yml" <<YML
databases:
  - { name: app, path: $dir/app.db }
destinations:
  - { name: disk, type: local, path: $dir/disk }
  - { name: usb, type: local, path: $dir/usb }
policy: { copies: 2, media: 1, offsite: 0 }
staging: $dir/staging
YML

run_in_tmux() { # $1: name, rest: triplicate arguments; captures frames into $dir/$1.frames
  local name="$1"; shift
  tmux new-session -d -s "$session" -x 160 -y 20 "node '$bin' $* ; echo __EXIT_\$?__ ; sleep 30"
  : >"$dir/$name.frames"
  for _ in $(seq 1 900); do # up to ~90 s on a loaded machine
    tmux capture-pane -p -t "$session" >>"$dir/$name.frames"; echo "----" >>"$dir/$name.frames"
    tmux capture-pane -p -t "$session" | grep -q "__EXIT_" && break
    sleep 0.1
  done
  tmux capture-pane -p -t "$session" >"$dir/$name.final"
  tmux kill-session -t "$session"
}

run_in_tmux backup backup --init --config "$dir/t.yml"
run_in_tmux restore restore app --config "$dir/t.yml" --to "$dir/back.db"
status=0
for name in backup restore; do
  echo "=== $name: final pane"
  cat "$dir/$name.final"
  grep -q "__EXIT_0__" "$dir/$name.final" || { echo "FAIL: $name did not exit 0"; status=1; }
done
# The live lines: one per destination with bytes, rate and ETA, one for the snapshot and checks.
for want in "disk" "usb" "ETA" "of "; do
  grep -q "$want" "$dir/backup.frames" || { echo "FAIL: no '$want' in the backup's progress lines"; status=1; }
done
# The ETA is a time or "--" (no rate yet), never cli-progress's "NULL"/"Infinity" cut to "LLs".
if grep -ohE "ETA [^ |]*" "$dir/backup.frames" "$dir/restore.frames" | grep -vqE "^ETA (--|[0-9]+s|[0-9]+m[0-9]{2}s|[0-9]+h[0-9]{2}m)$"; then
  echo "FAIL: a garbage ETA: $(grep -ohE "ETA [^ |]*" "$dir/backup.frames" "$dir/restore.frames" | grep -vE "^ETA (--|[0-9]+s|[0-9]+m[0-9]{2}s|[0-9]+h[0-9]{2}m)$" | sort -u | head -3 | tr '\n' ' ')"; status=1
fi
grep -q "snapshot" "$dir/backup.frames" || { echo "FAIL: no snapshot line"; status=1; }
grep -qE "download|restoring from" "$dir/restore.frames" || { echo "FAIL: no download line in the restore"; status=1; }
# Not a terminal: no control characters at all.
node "$bin" backup --config "$dir/t.yml" 2>"$dir/piped.err" >/dev/null
if grep -q $'\x1b\[' "$dir/piped.err"; then echo "FAIL: escape codes on a stderr that is not a terminal"; status=1; fi
[ $status -eq 0 ] && echo "OK: progress lines seen in tmux; none when stderr is not a terminal"
exit $status
