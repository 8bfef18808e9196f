#!/bin/sh
# Start a single-node Slurm cluster on loopback for the Slurm tests (Debian, as root).
#   tests/slurm/start-cluster.sh STATE_DIR     installs Debian's packages when missing, writes
#                                              STATE_DIR/slurm.conf, starts munged, slurmctld and
#                                              slurmd, waits until the node is idle
#   tests/slurm/stop-cluster.sh STATE_DIR      stops them by PID
# The configuration goes to STATE_DIR and to /etc/slurm/slurm.conf (srun inside jobs reads the
# default path), marked as ours; a machine with its own Slurm configuration or daemons is left
# alone (exit 77: the tests skip), and stop-cluster.sh removes only our file.
# Accounting as on a real site: MariaDB and slurmdbd (sacct, failure reasons, the plugin's default status
# checks). MBLNN_SLURM_ACCOUNTING=0 starts the cluster without it (then the plugin must poll with squeue,
# profiles/slurm's comment, which needs MinJobAge >= 3 x slurm-init-seconds-before-status-checks; MinJobAge=300
# here); STATE_DIR/accounting says which ("slurmdbd" or "none").
# MPI: srun wires Open MPI ranks through PMIx (MpiDefault=pmix).
set -eu
state=$(realpath -m "${1:?usage: start-cluster.sh STATE_DIR}")
if [ "$(id -u)" != 0 ]; then echo "start-cluster: needs root" >&2; exit 77; fi
marker="# written by mblnn tests/slurm/start-cluster.sh"
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || pgrep -x slurmdbd >/dev/null; then
  echo "start-cluster: Slurm daemons already run on this machine; not starting a test cluster beside them" >&2; exit 77
fi
for conf in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
  if [ -e "$conf" ] && ! head -n 1 "$conf" | grep -qxF "$marker"; then
    echo "start-cluster: $conf belongs to this machine's Slurm; not replacing it" >&2; exit 77
  fi
done
accounting=${MBLNN_SLURM_ACCOUNTING:-1}
packages="slurmctld slurmd slurm-client munge"
[ "$accounting" = 1 ] && packages="$packages slurmdbd mariadb-server"
missing=""
for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null || { echo "start-cluster: no apt-get to install$missing" >&2; exit 77; }
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
mkdir -p "$state/spool/ctld" "$state/spool/d" "$state/log" /run/munge /var/log/munge /var/lib/munge /etc/munge
cpus=$(nproc)
memory=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
cat > "$state/slurm.conf" <<CONF
$marker
ClusterName=mblnn-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=pmix
MinJobAge=300
KillWait=5
InactiveLimit=0
$(if [ "$accounting" = 1 ]; then echo "AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost"; else echo "AccountingStorageType=accounting_storage/none"; fi)
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /etc/slurm
cp "$state/slurm.conf" /etc/slurm/slurm.conf
export SLURM_CONF="$state/slurm.conf"
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
chown -R munge: /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then su -s /bin/sh munge -c /usr/sbin/munged; fi
if [ "$accounting" = 1 ]; then
  # MariaDB on its own socket and data directory in STATE_DIR (a machine's own database is left alone)
  db="$state/mysql"
  mkdir -p "$db/data" "$db/run"
  mariadb-install-db --user=root --datadir="$db/data" --auth-root-authentication-method=socket >"$state/log/mariadb-install.log" 2>&1
  mariadbd --user=root --datadir="$db/data" --socket="$db/run/mysqld.sock" --pid-file="$state/mariadb.pid" \
    --skip-networking=0 --bind-address=127.0.0.1 --port=3307 --log-error="$state/log/mariadb.log" >/dev/null 2>&1 &
  for _ in $(seq 60); do [ -S "$db/run/mysqld.sock" ] && break; sleep 0.5; done
  mariadb --socket="$db/run/mysqld.sock" -u root -e \
    "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'mblnn-ci'; CREATE DATABASE IF NOT EXISTS slurm_acct_db; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
  cat > "$state/slurmdbd.conf" <<DBD
$marker
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$state/slurmdbd.pid
LogFile=$state/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3307
StorageUser=slurm
StoragePass=mblnn-ci
StorageLoc=slurm_acct_db
DBD
  chmod 600 "$state/slurmdbd.conf"
  cp "$state/slurmdbd.conf" /etc/slurm/slurmdbd.conf
  chmod 600 /etc/slurm/slurmdbd.conf
  slurmdbd
  for _ in $(seq 60); do sacctmgr -n show cluster >/dev/null 2>&1 && break; sleep 0.5; done
  sacctmgr -i add cluster mblnn-ci >/dev/null 2>&1 || true
  echo slurmdbd > "$state/accounting"
else
  echo none > "$state/accounting"
fi
slurmctld -f "$state/slurm.conf" -i
slurmd -f "$state/slurm.conf" -N localhost
for _ in $(seq 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -q idle; then echo "slurm up: $cpus CPUs, ${memory} MB, accounting $(cat "$state/accounting")"; exit 0; fi
  sleep 1
done
echo "start-cluster: the node did not become idle; see $state/log" >&2
exit 1
