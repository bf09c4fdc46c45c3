#!/usr/bin/env bash
# Stops the single-node Slurm cluster of scripts/slurm-up.sh: each daemon by the pid in its
# pid file (never by name), the node daemon first. --quiet: say nothing when none runs.
set -uo pipefail

QUIET=0
[[ ${1:-} == --quiet ]] && QUIET=1
for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid /run/munge/munged.pid; do
  [[ -s $f ]] || continue
  pid=$(cat "$f")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "slurm-down: $(basename "$f" .pid) (pid $pid) still runs after 15 s: SIGKILL" >&2
      kill -9 "$pid" 2>/dev/null
    fi
    ((QUIET)) || echo "slurm-down: stopped $(basename "$f" .pid) (pid $pid)" >&2
  fi
  rm -f "$f"
done
exit 0
