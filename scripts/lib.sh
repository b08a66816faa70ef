# Shared by scripts/run, scripts/test and friends. Source it; do not run it.
# Every step installs only what is missing, so a warm machine skips them all.

CARGO_LEPTOS_VERSION=0.3.10
# Must equal the wasm-bindgen version in Cargo.lock (pinned with "=" in Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130

export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust_toolchain() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 14 min on 2 cores, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 min, once)"
    # Not --locked: a locked dependency of the CLI is not served by the registry here.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  # wasm-opt comes from npm's `binaryen` (see ensure_node_packages): Debian
  # bookworm's binaryen 108 corrupts the reference-types tables that
  # wasm-bindgen 0.2.130 emits (hydration then fails with
  # "WebAssembly.Table.set(): Argument 1 is invalid").
}

ensure_node_packages() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/playwright ] \
     || [ ! -x node_modules/.bin/wasm-opt ] \
     || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# clamd for the attachment-scanning tests (they give it a signature database
# of their own, so the official signatures need not be downloaded).
ensure_clamd() {
  [ -x /usr/sbin/clamd ] || apt_install clamav-daemon
}

# The S3-compatible server the attachment tests run against: moto's
# (`moto[server]` from PyPI), in a virtualenv of its own under target/. Chosen
# over the s3s-fs crate because pip installs it in about a minute, where a
# cargo install would compile for many more on 2 cores.
MOTO_VERSION=5.2.5
ensure_moto() {
  local venv=target/tools/moto
  if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$MOTO_VERSION'" 2>/dev/null; then
    return 0
  fi
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  log "pip install moto[server]==$MOTO_VERSION into $venv (about a minute, once)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

# The public FAQ data set that measures answer retrieval (CC-BY-4.0, 503
# English Q&As in the wheel of PyPI's zaragoza-construction-faq). Sets FAQ_DATA.
FAQ_VERSION=1.2.1
ensure_faq() {
  local dir=target/tools/faq-$FAQ_VERSION
  export FAQ_DATA="$PWD/$dir/zaragoza_construction_faq/data/faq-en.jsonl"
  if [ -s "$FAQ_DATA" ]; then return 0; fi
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  log "pip download zaragoza-construction-faq==$FAQ_VERSION (the retrieval data set, once)"
  rm -rf "$dir" && mkdir -p "$dir"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$dir" \
    "zaragoza-construction-faq==$FAQ_VERSION"
  python3 -m zipfile -e "$dir"/zaragoza_construction_faq-"$FAQ_VERSION"-*.whl "$dir"
}

# The URL of database $1 on the server that DATABASE_URL (or the default) points at.
database_url_for() {
  local base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/switchboard}"
  echo "${base%/*}/$1"
}

pg_answers() { psql "$(database_url_for postgres)" -qXAtc 'SELECT 1' >/dev/null 2>&1; }

# Finds PostgreSQL: DATABASE_URL, then 127.0.0.1:5432. If neither answers,
# starts a project-local cluster under target/ with the machine's binaries.
ensure_postgres() {
  command -v psql >/dev/null || apt_install postgresql-client
  if pg_answers; then return 0; fi
  if [ -n "${DATABASE_URL:-}" ] && [ "${SWITCHBOARD_LOCAL_PG:-}" != 1 ]; then
    log "DATABASE_URL does not answer; trying a project-local PostgreSQL"
  fi
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bindir" ]; then
    apt_install postgresql
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  local data="$PWD/target/pgdata" port=5433 run_as=()
  # PostgreSQL refuses to run as root: run the local cluster as the postgres user.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$data" postgres
    run_as=(runuser -u postgres --)
  fi
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb a project-local PostgreSQL in target/pgdata"
    "${run_as[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null
  fi
  log "starting the project-local PostgreSQL on 127.0.0.1:$port"
  "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/switchboard"
  pg_answers || die "PostgreSQL did not start; see target/pgdata/server.log"
}

ensure_database() {
  local name="${1:-switchboard}"
  if ! psql "$(database_url_for postgres)" -qXAtc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    log "creating database $name"
    psql "$(database_url_for postgres)" -qX -c "CREATE DATABASE \"$name\""
  fi
}

rabbit_answers() { rabbitmqctl -q status >/dev/null 2>&1; }

# RabbitMQ on 127.0.0.1:5672 (the tests and --broker mode use it): started if
# it is installed but down, installed from Debian's packages when missing.
ensure_rabbitmq() {
  command -v rabbitmqctl >/dev/null || apt_install rabbitmq-server
  if rabbit_answers; then return 0; fi
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    rabbit_answers && return 0
    sleep 1
  done
  die "RabbitMQ did not start (rabbitmq-server -detached)"
}
