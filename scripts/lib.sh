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

# Apache Kafka, the version pinned in scripts/kafka-conf/pom.xml (and docker-compose.yml).
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka-conf/pom.xml")
KAFKA_HOME=$TOOLS_DIR/kafka-$KAFKA_VERSION

# The local embedding model's files (scripts/models installs them once per machine).
export HIRESTREAM_EMBEDDINGS__MODEL_DIR=${HIRESTREAM_EMBEDDINGS__MODEL_DIR:-$TOOLS_DIR/models/all-minilm-l6-v2}
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

# Installs Apache Kafka's jars once per machine from Maven Central into $KAFKA_HOME/libs
# (Java and Maven from Debian's packages where missing).
kafka_install() {
  [ -f "$KAFKA_HOME/installed" ] && return 0
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    log "installing Java 17 and Maven from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
  fi
  log "installing Apache Kafka $KAFKA_VERSION into $KAFKA_HOME (once per machine)"
  rm -rf "$KAFKA_HOME/libs"
  mvn -B -q -f "$ROOT/scripts/kafka-conf/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" >&2
  touch "$KAFKA_HOME/installed"
}

# Starts a Kafka broker on 127.0.0.1:$1 storing in directory $2 (pid in $2/kafka.pid, output
# in $2/kafka.out) and waits until it serves metadata.
kafka_start() {
  local port=$1 dir=$2
  mkdir -p "$dir"
  started_lines "$dir" >"$dir/starts"
  nohup "$ROOT/scripts/kafka" broker "$port" "$dir" >"$dir/kafka.out" 2>&1 &
  echo $! >"$dir/kafka.pid"
  wait_for 120 kafka_started "$dir" || die "Kafka did not start; see $dir/kafka.out and $dir/broker.log"
}

# True once the broker in $1 logged that it started (after its metadata is ready); false
# at once when its process is gone.
kafka_started() {
  kill -0 "$(cat "$1/kafka.pid")" 2>/dev/null || { cat "$1/kafka.out" >&2; die "Kafka exited"; }
  [ "$(started_lines "$1")" -gt "$(cat "$1/starts")" ]
}

started_lines() { cat "$1/broker.log" 2>/dev/null | grep -c 'Kafka Server started' || true; }

# Stops the broker started with kafka_start in directory $1: SIGTERM, then SIGKILL after 30 s.
kafka_stop() {
  local pidfile=$1/kafka.pid
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  rm -f "$pidfile"
  kill -0 "$pid" 2>/dev/null || return 1
  kill "$pid"
  wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
}

# Runs `hirestream up` (binary $1) on a free loopback port, in a scratch database and under a
# topic prefix of its own, using the broker in HIRESTREAM_KAFKA__BROKERS; waits until it is
# ready. Sets SCRATCH_DIR (its files, the log in $SCRATCH_DIR/server.log) and SCRATCH_PORT,
# and exports its settings so that commands run next (`hirestream import`) share them. An
# EXIT trap stops it and drops the database.
scratch_server() {
  local binary=$1 name
  name=scratch_$(date +%s)_$$
  SCRATCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hirestream-$name.XXXXXX")
  SCRATCH_PORT=18080
  while port_open 127.0.0.1 "$SCRATCH_PORT"; do SCRATCH_PORT=$((SCRATCH_PORT + 1)); done
  SCRATCH_SERVER_URL=${HIRESTREAM_DATABASE__URL%/*}
  SCRATCH_DATABASE=hirestream_$name
  trap scratch_server_stop EXIT
  psql -q "$SCRATCH_SERVER_URL/postgres" -c "CREATE DATABASE $SCRATCH_DATABASE" >/dev/null

  export HIRESTREAM_DEV_MODE=true
  export HIRESTREAM_DATABASE__URL=$SCRATCH_SERVER_URL/$SCRATCH_DATABASE
  export HIRESTREAM_HTTP__ADDR=127.0.0.1:$SCRATCH_PORT
  export HIRESTREAM_KAFKA__TOPIC_PREFIX=$name
  export HIRESTREAM_MATCHING__DATA_DIR=$SCRATCH_DIR/vectors
  export HIRESTREAM_LOG__FILTER=${HIRESTREAM_LOG__FILTER:-warn}
  "$binary" up >"$SCRATCH_DIR/server.log" 2>&1 &
  SCRATCH_PID=$!
  wait_for 120 scratch_server_ready || scratch_server_died "did not get ready"
}

scratch_server_ready() {
  kill -0 "$SCRATCH_PID" 2>/dev/null || scratch_server_died "exited"
  curl -sf "http://127.0.0.1:$SCRATCH_PORT/readyz" >/dev/null
}

# Prints the scratch server's log and stops the script.
scratch_server_died() {
  cat "$SCRATCH_DIR/server.log" >&2
  die "hirestream up $1"
}

scratch_server_stop() {
  if [ -n "${SCRATCH_PID:-}" ]; then
    kill "$SCRATCH_PID" 2>/dev/null || true
    wait "$SCRATCH_PID" 2>/dev/null || true
  fi
  psql -q "$SCRATCH_SERVER_URL/postgres" -c "DROP DATABASE IF EXISTS $SCRATCH_DATABASE WITH (FORCE)" >/dev/null || true
  rm -rf "$SCRATCH_DIR"
}
