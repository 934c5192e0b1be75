#!/usr/bin/env bash
# A single-node Slurm on localhost with fake GPUs, for tests and CI (Debian, root, no systemd needed).
# Usage: scripts/cluster/slurm-local.sh install|start|stop|status
# Env: SLURM_FAKE_CPUS (default 4), SLURM_FAKE_MEM_MB (4000), SLURM_FAKE_GPUS (2; 0 = none).
# No accounting daemon: put scripts/cluster/sacct-shim first on PATH as `sacct` so submitit can poll job states.
# Everything it starts runs detached in the foreground mode with its PID recorded under $STATE; `stop` cancels
# and drains the queue, then stops exactly those processes.
set -euo pipefail
NCPU=${SLURM_FAKE_CPUS:-4}
MEM_MB=${SLURM_FAKE_MEM_MB:-4000}
NGPU=${SLURM_FAKE_GPUS:-2}
STATE=/var/spool/slurm-local

install_pkgs() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge
}

write_conf() {
  mkdir -p /etc/slurm "$STATE"/{ctld,d,log}
  local gres_types="" gres_node=""
  if [ "$NGPU" -gt 0 ]; then
    gres_types="GresTypes=gpu"
    gres_node="Gres=gpu:$NGPU"
    # GRES files must be character devices (a regular file gets no CUDA_VISIBLE_DEVICES); these are /dev/null's
    for i in $(seq 0 $((NGPU - 1))); do [ -c /dev/fakegpu$i ] || mknod -m 666 /dev/fakegpu$i c 1 3; done
    printf 'AutoDetect=off\nNodeName=localhost Name=gpu File=/dev/fakegpu[0-%d]\n' $((NGPU - 1)) > /etc/slurm/gres.conf
  else
    rm -f /etc/slurm/gres.conf
  fi
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=localcluster
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdParameters=config_overrides
DependencyParameters=kill_invalid_depend
EnforcePartLimits=ALL
KillWait=5
MinJobAge=600
MailProg=/bin/true
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.own.pid
SlurmdPidFile=$STATE/slurmd.own.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
$gres_types
NodeName=localhost CPUs=$NCPU RealMemory=$MEM_MB $gres_node State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_for() {  # wait_for SECONDS CMD... (each probe at most 5 s)
  local n=$(($1 * 4)); shift
  for _ in $(seq 1 $n); do timeout 5 "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

launch() {  # launch NAME CMD...: a daemon in the foreground mode, detached; we record its PID
  local name=$1; shift
  setsid "$@" </dev/null >>"$STATE/log/$name.stdout" 2>&1 &
  echo $! > "$STATE/$name.pid"
}

alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

start() {
  if [ -f "$STATE/slurmctld.pid" ] && alive "$(cat "$STATE/slurmctld.pid")"; then echo "already running"; return 0; fi
  write_conf
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  launch munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F  # setpriv execs in place
  wait_for 10 munge -n || { echo "munged did not start"; return 1; }
  launch slurmctld /usr/sbin/slurmctld -D -i
  launch slurmd /usr/sbin/slurmd -D -N localhost  # the node is "localhost" whatever `hostname` says
  for _ in $(seq 1 120); do
    if timeout 5 sinfo -h -n localhost -o %T 2>/dev/null | grep -qxE 'idle|mixed|allocated|completing'; then
      echo "slurm up"; return 0
    fi
    for d in slurmctld slurmd; do
      alive "$(cat "$STATE/$d.pid")" || { echo "$d died:"; tail -n 5 "$STATE/log/$d.log" "$STATE/log/$d.stdout"; return 1; }
    done
    sleep 0.25
  done
  echo "slurm did not come up"; tail -n 20 "$STATE"/log/*.log; return 1
}

stop() {
  local pf pid ids
  # cancel and drain jobs first: job steps outlive slurmd, and queued jobs would run again at the next start
  if [ -f "$STATE/slurmctld.pid" ] && alive "$(cat "$STATE/slurmctld.pid")"; then
    ids=$(timeout 5 squeue -h -o %A 2>/dev/null || true)
    if [ -n "$ids" ]; then
      timeout 5 scancel $ids 2>/dev/null || true
      for _ in $(seq 1 60); do [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.5; done
    fi
  fi
  for pf in slurmd slurmctld munged; do
    [ -f "$STATE/$pf.pid" ] || continue
    pid=$(cat "$STATE/$pf.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.2; done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$STATE/$pf.pid"
  done
}

case "${1:-}" in
  install) install_pkgs ;;
  start) command -v slurmctld >/dev/null || install_pkgs
         start || { stop; exit 1; } ;;
  stop) stop ;;
  status) sinfo && squeue ;;
  *) echo "usage: $0 install|start|stop|status"; exit 2 ;;
esac
