#!/usr/bin/env bash
# The scale-out topology on this machine, in the foreground under supervisord, on the
# PostgreSQL (or MariaDB) and RabbitMQ the environment names:
#
#   export NIMBUS_DATABASE_URL=postgresql+psycopg2://nimbus:secret@127.0.0.1/nimbus
#   export NIMBUS_TRANSPORT_URL=amqp://nimbus:secret@127.0.0.1:5672/nimbus
#   deploy/run-cluster.sh [--agents 3 --api-nodes 1 ...]   (options of python -m deploy.stack up)
#
# It bootstraps the database (idempotent; the passwords and clouds.yaml are printed
# once everything serves), then runs nginx on $NIMBUS_PORT (8080) in front of the
# API nodes, two conductors, two schedulers, the compute agents and the DNS
# responder ($NIMBUS_DNS_PORT, 8053), as deploy/supervisord.conf.template says.
# A process that crashes is started again; Ctrl-C or SIGTERM stops everything, in
# order. Config, logs and data (keys, clouds.yaml) are in $NIMBUS_STACK_DIR
# (.cluster). Other NIMBUS_* variables reach every process.
#
# `make stack` is the same in the background, with a database and vhost of its own.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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
python=${PYTHON:-}
if [[ -z $python ]]; then
  if [[ -x $root/.venv/bin/python ]]; then python=$root/.venv/bin/python; else python=python3; fi
fi
cd "$root"
exec "$python" -m deploy.stack up --foreground --dir "${NIMBUS_STACK_DIR:-$root/.cluster}" \
  --database-url "$NIMBUS_DATABASE_URL" --transport-url "$NIMBUS_TRANSPORT_URL" \
  --port "${NIMBUS_PORT:-8080}" --dns-port "${NIMBUS_DNS_PORT:-8053}" "$@"
