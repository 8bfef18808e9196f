#!/bin/sh
# Stop the daemons started by start-cluster.sh (by their PID files) and remove its /etc/slurm/slurm.conf;
# leaves munged running.
state=$(realpath -m "${1:?usage: stop-cluster.sh STATE_DIR}")
for daemon in slurmd slurmctld slurmdbd mariadb; do
  if [ -s "$state/$daemon.pid" ]; then kill "$(cat "$state/$daemon.pid")" 2>/dev/null || true; fi
done
for conf in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
  if [ -e "$conf" ] && head -n 1 "$conf" | grep -qxF "# written by mblnn tests/slurm/start-cluster.sh"; then rm -f "$conf"; fi
done
for _ in $(seq 20); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || pgrep -x slurmdbd >/dev/null || exit 0; sleep 0.5; done
exit 0
