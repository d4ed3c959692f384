#!/usr/bin/env bash
# The processes of deploy/Procfile on this machine, without honcho: an API node, two
# conductors, two schedulers and three compute agents on PostgreSQL (or MariaDB) and
# RabbitMQ.
#
#   export NIMBUS_DATABASE_URL=postgresql+psycopg2://nimbus:secret@127.0.0.1/nimbus
#   export NIMBUS_TRANSPORT_URL=amqp://nimbus:secret@127.0.0.1:5672/nimbus
#   deploy/run-cluster.sh [PROCESS ...]
#
# Bootstraps the database first (idempotent; prints the passwords and the clouds.yaml
# to use), then starts every Procfile line, or only the named ones, as its own process
# with its output in $NIMBUS_LOG_DIR/<name>.log (default $NIMBUS_DATA_DIR/logs;
# NIMBUS_DATA_DIR defaults to .cluster). As honcho does, it stops everything when one
# process exits, and on Ctrl-C or SIGTERM: SIGTERM to each process, SIGKILL to what is
# left after $STOP_TIMEOUT seconds (default 20).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
procfile=${PROCFILE:-$root/deploy/Procfile}
: "${NIMBUS_DATABASE_URL:?must name PostgreSQL or MariaDB, e.g. postgresql+psycopg2://nimbus:secret@127.0.0.1/nimbus}"
: "${NIMBUS_TRANSPORT_URL:?must name RabbitMQ, e.g. amqp://nimbus:secret@127.0.0.1:5672/nimbus}"
case $NIMBUS_TRANSPORT_URL in
  amqp://* | amqps://* | pyamqp://*) ;;
  *) echo "run-cluster.sh: NIMBUS_TRANSPORT_URL must be RabbitMQ (amqp://...)" >&2; exit 2 ;;
esac
case $NIMBUS_DATABASE_URL in
  sqlite*) echo "run-cluster.sh: NIMBUS_DATABASE_URL must be a database server, not SQLite" >&2
           exit 2 ;;
esac
export NIMBUS_DATA_DIR=${NIMBUS_DATA_DIR:-$root/.cluster}
log_dir=${NIMBUS_LOG_DIR:-$NIMBUS_DATA_DIR/logs}
stop_timeout=${STOP_TIMEOUT:-20}
if [[ -x $root/.venv/bin/python ]]; then
  export PATH="$root/.venv/bin:$PATH"
fi
cd "$root"
mkdir -p "$log_dir"

python -m core.manage bootstrap

names=()
pids=()
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^([A-Za-z0-9_-]+):[[:space:]]*(.+)$ ]] || continue
  name=${BASH_REMATCH[1]}
  command=${BASH_REMATCH[2]}
  if (($#)) && [[ " $* " != *" $name "* ]]; then
    continue
  fi
  # exec: the pid we keep is the service's own, so SIGTERM reaches it directly.
  sh -c "exec $command" >>"$log_dir/$name.log" 2>&1 &
  names+=("$name")
  pids+=("$!")
  echo "run-cluster.sh: started $name (pid $!): $command"
done <"$procfile"
if ((${#pids[@]} == 0)); then
  echo "run-cluster.sh: no process of $procfile selected" >&2
  exit 2
fi
echo "run-cluster.sh: logs in $log_dir; Ctrl-C stops everything"

stopping=0
stop() {
  ((stopping)) && return
  stopping=1
  echo "run-cluster.sh: stopping ${#pids[@]} processes"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local tick alive pid
  for ((tick = 0; tick < stop_timeout * 10; tick++)); do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

# Like honcho: the first process to exit brings the others down.
set +e
wait -n
status=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "run-cluster.sh: ${names[$i]} exited (status $status); see $log_dir/${names[$i]}.log" >&2
  fi
done
stop
exit "$status"
