#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the Slurm tests (test/slurm/) and for
# trying `adapter-lab sweep --slurm` without a cluster: Debian's slurmctld, slurmd,
# slurm-client and munge, started without systemd. Run as root. Safe to run again: when
# the cluster is already up it only says so.
#
#   scripts/slurm-up.sh             # install what is missing, write the configuration, start
#   scripts/slurm-down.sh           # stop the daemons this script started
#
# Environment:
#   SLURM_OVERSUBSCRIBE=NO|FORCE:N  jobs per core (default NO: one task per CPU)
#
# What it writes: /etc/slurm/slurm.conf and cgroup.conf, state under /var/lib/slurm, logs
# under /var/log/slurm, pid files under /run/slurm and /run/munge. Every start is fresh
# (controller and node state are wiped, so job ids restart at 1).
set -euo pipefail

START=$SECONDS
say() { printf 'slurm-up: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root: the daemons run as root and write under /etc, /var and /run"

OVERSUB=${SLURM_OVERSUBSCRIBE:-NO}
PIDS=/run/slurm
CTLD_PID=$PIDS/slurmctld.pid
SLURMD_PID=$PIDS/slurmd.pid
MUNGE_PID=/run/munge/munged.pid

alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true; }

# --- Debian packages -------------------------------------------------------------------
PACKAGES=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get; install them by hand"
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # The packages' scripts try to start the daemons through invoke-rc.d; without an init system
  # that is refused, harmlessly. Nothing starts until below.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi
for b in slurmctld slurmd sbatch squeue sinfo scancel munged; do
  command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] || die "$b not found after installing ${PACKAGES[*]}"
done

# --- already up? -----------------------------------------------------------------------
if alive "$CTLD_PID" && alive "$SLURMD_PID"; then
  st=$(node_state)
  case "$st" in
    idle|mixed|allocated|completing)
      say "already running (node $st): $(sinfo -h -o '%P %D %c' | head -n 1)"
      exit 0 ;;
  esac
  say "daemons run but the node is '${st:-unknown}': restarting them"
fi
# Whatever of an earlier start is left is stopped first, by its pid file.
bash "$(dirname "${BASH_SOURCE[0]}")/slurm-down.sh" --quiet

# --- configuration ---------------------------------------------------------------------
HOST=$(hostname -s)
# The node's real CPUs and memory: a RealMemory above what the machine has drains the node.
NODELINE=$(slurmd -C | head -n 1)
[[ $NODELINE == NodeName=* ]] || die "slurmd -C printed no node line: $NODELINE"
mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm "$PIDS"
rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*
# slurmd always initialises a cgroup plugin, even with task/none and proctrack/linuxproc;
# "autodetect" fails in containers (no cgroups, a read-only cgroup2, a hybrid host).
# cgroup/v1 initialises with nothing mounted as long as no cgroup plugin is configured.
echo 'CgroupPlugin=cgroup/v1' > /etc/slurm/cgroup.conf
# The heredoc is unquoted so that the variables expand: no command substitutions in it.
cat > /etc/slurm/slurm.conf <<CONF
# Written by scripts/slurm-up.sh: one node, one partition, no accounting database.
ClusterName=adapterlab
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups anywhere: works in containers without cgroup access.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
# Schedule every second instead of every three.
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
# A cancelled or timed-out task gets SIGTERM, then SIGKILL this many seconds later.
KillWait=10
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP OverSubscribe=${OVERSUB}
CONF

# --- munge -----------------------------------------------------------------------------
[[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"

# --- daemons ---------------------------------------------------------------------------
/usr/sbin/slurmctld || { tail -n 20 /var/log/slurm/slurmctld.log >&2; die "slurmctld did not start"; }
/usr/sbin/slurmd || { tail -n 20 /var/log/slurm/slurmd.log >&2; die "slurmd did not start"; }

# The node must be idle before a job is submitted ("idle*" is registered but not responding).
st=
for _ in $(seq 1 120); do
  st=$(node_state)
  [[ $st == idle ]] && break
  sleep 0.5
done
alive "$SLURMD_PID" || st="slurmd exited"
if [[ $st != idle ]]; then
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
  die "the node is not idle: '$st'"
fi
say "ready in $((SECONDS - START)) s: $(sinfo --version), partition $(sinfo -h -o '%P' | head -n 1), $(sinfo -h -N -o '%c CPUs, %m MB' | head -n 1)"
