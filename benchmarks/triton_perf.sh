#!/usr/bin/env bash
# Triton's own perf_analyzer (from the tritonclient wheel) on `holistic` over a concurrency sweep,
# with a real photo (skimage astronaut, 512x512 RGB) as the request.
#
#   benchmarks/triton_perf.sh [--url HOST:PORT] [--concurrency "1 2 4"] [--instances N]
#                             [--requests-per-window 16] [--csv benchmarks/results/triton_perf.csv]
#
# Without --url it starts `signstream triton` on free loopback ports with --instances N and stops it
# afterwards. Windows count as stable within 30 % (these 2-core machines are noisy). perf_analyzer needs Debian's libb64-0d and libcudart.so.12 (PyPI nvidia-cuda-runtime-cu12),
# both installed by `make install`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$here/.venv}
py=$venv/bin/python
url="" concurrency="1 2 4" instances=2 requests=16 csv=$here/benchmarks/results/triton_perf.csv
while (($#)); do
  case $1 in
    --url) url=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --instances) instances=$2; shift 2 ;;
    --requests-per-window) requests=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "triton_perf.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
triton_pid=""
cleanup() {
  if [ -n "$triton_pid" ] && kill -0 "$triton_pid" 2>/dev/null; then
    kill -TERM "$triton_pid"; wait "$triton_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The request: raw bytes of one 512x512x3 uint8 photo, named after the input tensor.
mkdir "$work/data"
"$py" -c 'import sys, skimage.data; open(sys.argv[1], "wb").write(skimage.data.astronaut().tobytes())' "$work/data/IMAGE"

if [ -z "$url" ]; then
  read -r grpc http metrics < <("$py" -c 'from signstream.triton.launcher import free_port as f; print(f(), f(), f())')
  "$venv/bin/signstream" triton --grpc-port "$grpc" --http-port "$http" --metrics-port "$metrics" \
    --instances "$instances" --quiet --triton-log-file "$work/triton.log" > "$work/triton.out" 2>&1 &
  triton_pid=$!
  for _ in $(seq 600); do
    grep -q "Triton ready" "$work/triton.out" && break
    kill -0 "$triton_pid" 2>/dev/null || { cat "$work/triton.out" >&2; exit 1; }
    sleep 0.5
  done
  grep -q "Triton ready" "$work/triton.out" || { echo "Triton did not start; see $work/triton.out" >&2; exit 1; }
  url=127.0.0.1:$grpc
fi

cudart=$("$py" -c 'import nvidia.cuda_runtime, os; print(os.path.join(list(nvidia.cuda_runtime.__path__)[0], "lib"))')
mkdir -p "$(dirname "$csv")"
echo "perf_analyzer: holistic at $url, concurrency $concurrency, 512x512 astronaut"
sweep=()
for c in $concurrency; do sweep+=("$c"); done
: > "$csv.tmp"
for c in "${sweep[@]}"; do
  LD_LIBRARY_PATH="$cudart${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$venv/bin/perf_analyzer" \
    -m holistic -u "$url" -i grpc --input-data "$work/data" --shape IMAGE:512,512,3 \
    --concurrency-range "$c" --measurement-mode count_windows --measurement-request-count "$requests" \
    --stability-percentage 30 --max-trials 20 -f "$work/c$c.csv" > "$work/c$c.log" 2>&1 || { cat "$work/c$c.log" >&2; exit 1; }
  grep -E "^(Request concurrency|    Throughput|    p50|    p99)" "$work/c$c.log"
  if [ ! -s "$csv.tmp" ]; then head -1 "$work/c$c.csv" > "$csv.tmp"; fi
  tail -n +2 "$work/c$c.csv" >> "$csv.tmp"
done
mv "$csv.tmp" "$csv"
echo "wrote $csv"
