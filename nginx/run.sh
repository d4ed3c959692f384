#!/usr/bin/env bash
# Run nginx in the foreground as a load balancer over Nimbus API nodes.
#
#   nginx/run.sh RUN_DIR LISTEN_PORT UPSTREAM [UPSTREAM...]
#
# UPSTREAM is a port on 127.0.0.1 or HOST:PORT. The config is rendered from
# nginx.conf.template into RUN_DIR/nginx.conf; pid, logs and temp files stay in
# RUN_DIR. NIMBUS_NGINX_LISTEN_HOST (default 127.0.0.1) sets the listen address.
# nginx is exec'd, so the caller owns the process: SIGQUIT stops it gracefully,
# SIGTERM at once.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 RUN_DIR LISTEN_PORT UPSTREAM_PORT [UPSTREAM_PORT...]" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
run_dir=$(cd "$1" && pwd)
listen="${NIMBUS_NGINX_LISTEN_HOST:-127.0.0.1}:$2"
shift 2

servers=""
for upstream in "$@"; do
    [[ $upstream == *:* ]] || upstream="127.0.0.1:$upstream"
    servers+="        server $upstream max_fails=1 fail_timeout=5s;"$'\n'
done

# nginx started as root switches its workers to another user: use the owner of
# the run directory, who can read and write it (a test's tmp dir is 0700).
user_line=""
if [[ $EUID -eq 0 ]]; then
    user_line="user $(stat -c %U "$run_dir") $(stat -c %G "$run_dir");"
fi

for temp in client_body proxy fastcgi uwsgi scgi; do
    mkdir -p "$run_dir/${temp}_temp"
done

conf=$(<"$here/nginx.conf.template")
conf=${conf//@USER_LINE@/$user_line}
conf=${conf//@RUN_DIR@/$run_dir}
conf=${conf//@LISTEN@/$listen}
conf=${conf//@UPSTREAM_SERVERS@/${servers%$'\n'}}
printf '%s\n' "$conf" >"$run_dir/nginx.conf"

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
# -e: nginx opens its compiled-in error log before reading the config.
"$nginx_bin" -t -q -p "$run_dir" -e "$run_dir/error.log" -c "$run_dir/nginx.conf"
exec "$nginx_bin" -p "$run_dir" -e "$run_dir/error.log" -c "$run_dir/nginx.conf"
