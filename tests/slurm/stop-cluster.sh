#!/bin/sh
# Stop the daemons started by start-cluster.sh (by their PID files); leaves munged running.
state=$(realpath -m "${1:?usage: stop-cluster.sh STATE_DIR}")
for daemon in slurmd slurmctld; do
  if [ -s "$state/$daemon.pid" ]; then kill "$(cat "$state/$daemon.pid")" 2>/dev/null || true; fi
done
for _ in $(seq 20); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || exit 0; sleep 0.5; done
exit 0
