#!/bin/sh
# Stop the daemons started by start-cluster.sh (by their PID files) and remove its /etc/slurm/slurm.conf;
# leaves munged running.
state=$(realpath -m "${1:?usage: stop-cluster.sh STATE_DIR}")
for daemon in slurmd slurmctld; do
  if [ -s "$state/$daemon.pid" ]; then kill "$(cat "$state/$daemon.pid")" 2>/dev/null || true; fi
done
if [ -e /etc/slurm/slurm.conf ] && head -n 1 /etc/slurm/slurm.conf | grep -qxF "# written by mblnn tests/slurm/start-cluster.sh"; then
  rm -f /etc/slurm/slurm.conf
fi
for _ in $(seq 20); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || exit 0; sleep 0.5; done
exit 0
