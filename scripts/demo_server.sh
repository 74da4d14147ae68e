# Sourced by scripts that test against the real server: `start_demo_server [ENV=VALUE...]`
# starts the debug binary (`serve --demo`: demo data, open mode on loopback) on a free port
# with a temporary database, sets `port`, `server` and `tmp` (its log is "$tmp/server.log"),
# stops it and removes `tmp` on exit, and returns once /health/ready answers.
start_demo_server() {
  tmp=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env "$@" "$root/target/debug/tradeassist" --db "$tmp/demo.db" serve --demo \
    --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
  server=$!
  trap stop_demo_server EXIT
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0
    if ! kill -0 "$server" 2>/dev/null; then
      echo "the server exited:" >&2
      cat "$tmp/server.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "server not ready" >&2
  cat "$tmp/server.log" >&2
  exit 1
}

stop_demo_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$tmp"
}
