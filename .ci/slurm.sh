#!/bin/bash
# Runs a sharded offsim sweep on a single-node Slurm cluster started on this
# machine (slurmctld + slurmd + munge from Debian's slurm-wlm), merges it
# with a dependent job, and checks that the merged runs.csv and
# comparison.csv are byte-identical to an unsharded sweep. Needs root and
# apt. Usage: .ci/slurm.sh   (from the repository root)
set -euo pipefail
root=$(pwd)
log() { echo "slurm.sh: $*"; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# munge: the key comes with the package; start the daemon as user munge.
if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge /etc/munge/munge.key
    chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged --force
fi
for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
munge -n | unmunge >/dev/null

# A one-node cluster on localhost, no cgroups (proctrack/linuxproc, task/none).
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ { print $2 }' /proc/meminfo) / 1024 - 256 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=offsim-ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 60); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null || true)
    case $state in idle*|mixed*|allocated*) break ;; esac
    sleep 1
done
sinfo -N
case $(sinfo -h -N -o '%T') in idle*|mixed*|allocated*) ;; *) log "node not up"; tail -20 /var/log/slurm/*.log; exit 1 ;; esac

cargo build --release --quiet
export OFFSIM=${CARGO_TARGET_DIR:-$root/target}/release/offsim
scenario=$root/tests/fixtures/sweep/small.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read -r _ array _ merge < <(scripts/slurm/submit.sh 3 "$scenario" "$work/sharded")
log "array job $array, merge job $merge"
for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
    sleep 1
done
state=$(sacct -n -X -j "$merge" -o State 2>/dev/null | tr -d ' ' || true)
ls "$work/sharded"
cat "$work/sharded"/slurm-*merge.out || true
test -f "$work/sharded/merged/runs.csv" || { log "merge produced no runs.csv ($state)"; cat "$work/sharded"/slurm-*.out; exit 1; }
"$OFFSIM" sweep "$scenario" --out "$work/whole" --no-progress >/dev/null
cmp "$work/whole/runs.csv" "$work/sharded/merged/runs.csv"
cmp "$work/whole/comparison.csv" "$work/sharded/merged/comparison.csv"
log "OK: a 3-task array + dependent merge on Slurm gives the unsharded sweep's runs.csv and comparison.csv"
