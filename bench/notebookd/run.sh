#!/usr/bin/env bash
# notebookd vs Debian's jupyter-server 1.23, in the same run, with the same
# Node client (@jupyterlab/services + ws), each with the ferry and python3
# kernels; prints a Markdown table.
#
# Usage: [FERRY_BIN=bin/ferry] [PYTHON=/usr/bin/python3] bash bench/notebookd/run.sh
#          [--rounds 20] [--executes 50] [--gets 50] [--starts 5] [--warmup 20]
#          [--only ferry|python3] [--write docs/benchmarks.md]
#
# --write replaces the notebookd section of that file (between
# <!-- bench:notebookd --> markers) and keeps the rest.
# Needs: node >= 20, npm (npm ci runs when package-lock.json changed), go
# (builds the direct ZeroMQ client), Debian's python3-jupyter-server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
FERRY_BIN="$(realpath "${FERRY_BIN:-$repo/bin/ferry}")"
PYTHON="${PYTHON:-/usr/bin/python3}"
# The Debian python must not see a pyenv/venv's packages.
pyenv=(env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1)

die() { echo "bench/notebookd: $*" >&2; exit 1; }
[[ -x "$FERRY_BIN" ]] || die "no ferry binary at $FERRY_BIN: run \`go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel\` or set FERRY_BIN"
command -v node >/dev/null || die "node is not on PATH: install Node 20+"
js_version="$("${pyenv[@]}" "$PYTHON" -c 'import jupyter_server; print(jupyter_server.__version__)' 2>/dev/null)" ||
	die "$PYTHON cannot import jupyter_server: apt-get install -y python3-jupyter-server"
ipk_version="$("${pyenv[@]}" "$PYTHON" -c 'import ipykernel; print(ipykernel.__version__)' 2>/dev/null)" ||
	die "$PYTHON cannot import ipykernel: apt-get install -y python3-ipykernel"
py_version="$("${pyenv[@]}" "$PYTHON" -c 'import platform; print(platform.python_version())')"

# npm ci when the lockfile changed (a stamp holds its hash).
stamp="$here/node_modules/.lock-sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
	echo "$want" >"$stamp"
fi

tmp="$(mktemp -d /tmp/ferry-bench-notebookd-XXXXXX)"
nd_pid="" js_pid=""
stop_pid() { # pid signal: the signal, then KILL after 5 s
	local pid="$1"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill "-$2" "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$nd_pid" INT # ferry lab shuts down on SIGINT
	stop_pid "$js_pid" TERM
	# Kernels left behind: their argv names a connection file under $tmp.
	local left
	left="$(pgrep -f -- "$tmp/" || true)"
	if [[ -n "$left" ]]; then
		echo "bench/notebookd: killing leftover kernels: $left" >&2
		for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp"/{root,home,data,runtime,xdg-runtime,config,prefix}
cp "$here/small.ipynb" "$tmp/root/small.ipynb"
(cd "$repo" && go build -o "$tmp/zmqrtt" ./bench/notebookd/zmqrtt)

# The kernelspecs both servers see: ferry (from $FERRY_BIN) and Debian's
# python3 from /usr/share/jupyter/kernels (the system path of both).
"$FERRY_BIN" kernelspec install --prefix "$tmp/prefix" >/dev/null </dev/null
ferry_spec="$tmp/prefix/share/jupyter/kernels/ferry/kernel.json"
py_spec=/usr/share/jupyter/kernels/python3/kernel.json
[[ -f "$py_spec" ]] || die "no $py_spec: apt-get install -y python3-ipykernel"

# One environment for both servers (and so their kernels): a scratch home,
# config, data and runtime dirs, so no user config, extension or kernelspec
# of this machine takes part.
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config"
export XDG_CACHE_HOME="$tmp/home/.cache" XDG_STATE_HOME="$tmp/home/.local/state" XDG_RUNTIME_DIR="$tmp/xdg-runtime"
export JUPYTER_PATH="$tmp/prefix/share/jupyter" JUPYTER_CONFIG_DIR="$tmp/config" JUPYTER_CONFIG_PATH="$tmp/config"
export JUPYTER_DATA_DIR="$tmp/data" JUPYTER_RUNTIME_DIR="$tmp/runtime"
export PYDEVD_DISABLE_FILE_VALIDATION=1
unset JUPYTER_TOKEN FERRY_TOKEN FERRY_LAB_ASSETS 2>/dev/null || true

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
nd_port="$(free_port)"
js_port="$(free_port)"
while [[ "$js_port" == "$nd_port" ]]; do js_port="$(free_port)"; done

"$FERRY_BIN" lab --ip 127.0.0.1 --port "$nd_port" --token "$token" --root "$tmp/root" \
	--data-dir "$tmp/data/ferry" --no-browser --log-level warn >"$tmp/notebookd.log" 2>&1 </dev/null &
nd_pid=$!
# env execs, so $! is the server's python process itself.
root_flag=()
[[ "$(id -u)" == 0 ]] && root_flag=(--allow-root) # it refuses root otherwise
"${pyenv[@]}" "$PYTHON" -m jupyter_server ${root_flag[@]+"${root_flag[@]}"} --no-browser --ServerApp.ip=127.0.0.1 --port "$js_port" \
	--ServerApp.port_retries=0 --ServerApp.token="$token" --ServerApp.root_dir="$tmp/root" \
	--ServerApp.log_level=WARN --ServerApp.open_browser=False >"$tmp/jupyter-server.log" 2>&1 </dev/null &
js_pid=$!

wait_up() { # name pid port
	for _ in $(seq 300); do
		kill -0 "$2" 2>/dev/null || { cat "$tmp/$1.log" >&2; die "$1 exited at start (log above)"; }
		if node -e 'fetch(process.argv[1],{headers:{Authorization:"token "+process.argv[2]}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' \
			"http://127.0.0.1:$3/api/status" "$token" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	cat "$tmp/$1.log" >&2
	die "$1 did not answer /api/status in 30 s (log above)"
}
wait_up notebookd "$nd_pid" "$nd_port"
wait_up jupyter-server "$js_pid" "$js_port"

services_version="$(node -p 'require(process.argv[1]).version' "$here/node_modules/@jupyterlab/services/package.json")"
ws_version="$(node -p 'require(process.argv[1]).version' "$here/node_modules/ws/package.json")"
cat >"$tmp/config.json" <<EOF
{
  "servers": [
    {"name": "notebookd", "label": "notebookd", "url": "http://127.0.0.1:$nd_port", "token": "$token", "pid": $nd_pid},
    {"name": "jupyter-server", "label": "jupyter-server $js_version", "url": "http://127.0.0.1:$js_port", "token": "$token", "pid": $js_pid}
  ],
  "kernels": [
    {"name": "ferry", "spec": "$ferry_spec"},
    {"name": "python3", "spec": "$py_spec"}
  ],
  "notebook": "small.ipynb",
  "notebookDesc": "$(stat -c %s "$here/small.ipynb") bytes, 5 cells, 3 with outputs",
  "zmqrtt": "$tmp/zmqrtt",
  "runtimeDir": "$tmp/runtime",
  "versions": {"services": "$services_version", "ws": "$ws_version", "jupyter_server": "$js_version",
               "ipykernel": "$ipk_version", "python": "$py_version"}
}
EOF

# Relative --write paths are the caller's.
args=()
while [[ $# -gt 0 ]]; do
	if [[ "$1" == --write ]]; then
		args+=(--write "$(realpath -m "$2")")
		shift 2
	else
		args+=("$1")
		shift
	fi
done
rc=0
node "$here/bench.mjs" --config "$tmp/config.json" ${args[@]+"${args[@]}"} || rc=$?
if [[ $rc -ne 0 ]]; then
	echo "--- notebookd log" >&2; tail -n 40 "$tmp/notebookd.log" >&2
	echo "--- jupyter-server log" >&2; tail -n 40 "$tmp/jupyter-server.log" >&2
fi
exit "$rc"
