# Shared by the scripts: where things live, and small helpers. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Per-checkout state: the broker's files and the services' logs.
DATA_DIR=${HIRESTREAM_DATA_DIR:-$ROOT/.data}
# Tools installed once per machine and reused by every checkout.
TOOLS_DIR=${HIRESTREAM_TOOLS_DIR:-$HOME/.local/share/hirestream}

PG_HOST=127.0.0.1
PG_PORT=${HIRESTREAM_PG_PORT:-5432}
PG_ROLE=hirestream
PG_DATABASE=hirestream
KAFKA_HOST=127.0.0.1
KAFKA_PORT=${HIRESTREAM_KAFKA_PORT:-9092}

TANSU_VERSION=0.6.0
TANSU_BIN=$TOOLS_DIR/tansu-$TANSU_VERSION/bin/tansu

# The local embedding model's files (scripts/models installs them once per machine).
export HIRESTREAM_EMBEDDINGS__MODEL_DIR=${HIRESTREAM_EMBEDDINGS__MODEL_DIR:-$TOOLS_DIR/models/all-minilm-l6-v2}
# The end-to-end tests start brokers of their own with it (outage tests).
export HIRESTREAM_TANSU_BIN=${HIRESTREAM_TANSU_BIN:-$TANSU_BIN}
export HIRESTREAM_DATABASE__URL=${HIRESTREAM_DATABASE__URL:-postgres://$PG_ROLE:$PG_ROLE@$PG_HOST:$PG_PORT/$PG_DATABASE}
export HIRESTREAM_KAFKA__BROKERS=${HIRESTREAM_KAFKA__BROKERS:-$KAFKA_HOST:$KAFKA_PORT}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True when something accepts TCP connections on host $1, port $2.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Runs "$@" until it succeeds or $1 seconds pass.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the tansu broker once per machine.
tansu_install() {
  [ -x "$TANSU_BIN" ] && return 0
  command -v cargo >/dev/null 2>&1 || die "cargo is needed to install the tansu broker"
  log "installing tansu $TANSU_VERSION into $TOOLS_DIR (once per machine; about 10 minutes)"
  cargo install --locked --quiet "tansu@$TANSU_VERSION" \
    --no-default-features --features libsql \
    --root "$TOOLS_DIR/tansu-$TANSU_VERSION"
}

# Starts tansu on 127.0.0.1:$1 with its SQLite storage in directory $2 (pid in $2/tansu.pid,
# log in $2/tansu.log) and waits until it accepts connections.
tansu_start() {
  local port=$1 dir=$2
  mkdir -p "$dir"
  (
    cd "$dir"
    nohup "$TANSU_BIN" broker \
      --listener-url "tcp://$KAFKA_HOST:$port" \
      --advertised-listener-url "tcp://$KAFKA_HOST:$port" \
      --storage-engine "sqlite://tansu.db" \
      >"$dir/tansu.log" 2>&1 &
    echo $! >"$dir/tansu.pid"
  )
  wait_for 60 port_open "$KAFKA_HOST" "$port" || die "tansu did not start; see $dir/tansu.log"
}
