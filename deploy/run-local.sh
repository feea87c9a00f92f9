#!/usr/bin/env bash
# Start PostgreSQL and N `tagfeed work` processes on this machine: the several-workers
# setup of README "Running at scale", in one command. Ctrl-C or SIGTERM stops the
# workers (each finishes its poll or build), then PostgreSQL; so does any worker exiting.
#
#   deploy/run-local.sh [tagfeed.toml]
#
# Environment: RUN_DIR (default ./run-local: database, logs), PGPORT (54329),
# WORKERS (2), TAGFEED (the tagfeed command, default `tagfeed`). The workers get
# TAGFEED_STORE pointing at this PostgreSQL; everything else comes from the config.
# Needs Debian's `postgresql` package (initdb/pg_ctl); as root the server runs as `postgres`.
set -euo pipefail
CONFIG=$(realpath "${1:-tagfeed.toml}")
RUN_DIR=$(realpath -m "${RUN_DIR:-run-local}")
PGPORT=${PGPORT:-54329}
WORKERS=${WORKERS:-2}
read -r -a TAGFEED <<<"${TAGFEED:-tagfeed}"
if ! command -v "${TAGFEED[0]}" >/dev/null; then
    echo "run-local.sh: '${TAGFEED[0]}' not found: activate the venv (. .venv/bin/activate) or set TAGFEED=.venv/bin/tagfeed" >&2
    exit 1
fi
BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$BINDIR" ] || [ ! -x "$BINDIR/initdb" ]; then
    echo "run-local.sh: PostgreSQL is not installed (Debian package 'postgresql')" >&2
    exit 1
fi

mkdir -p "$RUN_DIR"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then  # initdb refuses root
    chown postgres:postgres "$RUN_DIR"
    as_pg=(runuser -u postgres --)  # RUN_DIR's parents must let it through (e.g. under /tmp)
fi
pg() { (cd / && "${as_pg[@]}" "$@"); }
if [ ! -f "$RUN_DIR/pg/PG_VERSION" ]; then
    pg "$BINDIR/initdb" -D "$RUN_DIR/pg" -U tagfeed --auth=trust -E UTF8 --no-locale >/dev/null
fi
pg "$BINDIR/pg_ctl" -D "$RUN_DIR/pg" -l "$RUN_DIR/postgresql.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PGPORT -k $RUN_DIR" start >/dev/null

pids=()
stopped=0
stop() {
    [ "$stopped" -eq 1 ] && return
    stopped=1
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pg "$BINDIR/pg_ctl" -D "$RUN_DIR/pg" -m fast -w stop >/dev/null || true
    echo "run-local.sh: stopped" >&2
}
trap 'stop; exit 0' INT TERM  # asked to stop: a clean exit
trap stop EXIT

"$BINDIR/createdb" -h 127.0.0.1 -p "$PGPORT" -U tagfeed tagfeed 2>/dev/null || true  # exists on a rerun
export TAGFEED_STORE="postgresql://tagfeed@127.0.0.1:$PGPORT/tagfeed"
for n in $(seq 1 "$WORKERS"); do
    "${TAGFEED[@]}" work --config "$CONFIG" --name "local-$n" >>"$RUN_DIR/worker-$n.log" 2>&1 &
    pids+=("$!")
done
echo "run-local.sh: PostgreSQL on 127.0.0.1:$PGPORT, $WORKERS workers; logs in $RUN_DIR" >&2
status=0
wait -n "${pids[@]}" || status=$?  # returns when a worker exits, or a signal runs the trap
if [ "$status" -ne 0 ]; then  # the reason is in a worker's log: say it here too
    for n in $(seq 1 "$WORKERS"); do
        tail -n 1 "$RUN_DIR/worker-$n.log" 2>/dev/null | sed "s/^/run-local.sh: worker $n: /" >&2 || true
    done
fi
stop
exit "$status"
