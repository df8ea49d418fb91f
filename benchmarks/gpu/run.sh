#!/usr/bin/env bash
# Every GPU path of fireflyer, checked and measured in one prepared run (issues 15 and 27).
#
# On a fresh CUDA machine without network: installs fireflyer from this working tree with the wheels it is
# given (.whl/, no build isolation, the machine's torch kept), then runs each step, timed, keeping its
# output under one results folder, and stops at the first failure naming the step.
#
#   benchmarks/gpu/run.sh [RESULTS_DIR]            # on a GPU machine (default: $OUT or benchmarks/results/gpu)
#   benchmarks/gpu/run.sh --cpu-rehearsal [DIR]    # here, without a GPU: GPU steps skipped, saying so
set -uo pipefail
cd "$(dirname "$0")/../.."

rehearsal=0
if [[ "${1:-}" == "--cpu-rehearsal" ]]; then rehearsal=1; shift; fi
results="${1:-${OUT:-benchmarks/results/gpu}}"
mkdir -p "$results"
summary="$results/steps.tsv"
printf 'step\tseconds\tstatus\n' > "$summary"
py="${PYTHON:-python3}"

step() {  # step NAME COMMAND...: run, time, log to $results/NAME.log; stop the run on failure
  local name=$1; shift
  local t0=$(date +%s.%N)
  echo "== $name: $*"
  "$@" > "$results/$name.log" 2>&1
  local rc=$?
  local dt=$(echo "$(date +%s.%N) - $t0" | bc)
  printf '%s\t%.1f\t%s\n' "$name" "$dt" "$([[ $rc == 0 ]] && echo ok || echo "failed ($rc)")" >> "$summary"
  if [[ $rc != 0 ]]; then
    tail -n 40 "$results/$name.log"
    echo "FAILED at step '$name' (exit $rc); log: $results/$name.log" >&2
    exit 1
  fi
  tail -n 3 "$results/$name.log"
}

skip() {  # skip NAME REASON
  printf '%s\t0\tskipped: %s\n' "$1" "$2" >> "$summary"
  echo "== $1: skipped: $2"
}

gpus=$($py -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)" 2>/dev/null || echo 0)
if [[ $rehearsal == 0 && $gpus == 0 ]]; then
  echo "no CUDA GPU here: run with --cpu-rehearsal to rehearse" >&2
  exit 2
fi
device=$([[ $rehearsal == 1 ]] && echo cpu || echo cuda)

# 1. Install: carried wheels (msgspec and any other missing package), then fireflyer itself.
install() {
  if compgen -G ".whl/*.whl" > /dev/null; then
    $py -m pip install -q --no-index --no-deps --no-compile --target /tmp/flyer-site .whl/*.whl || return 1
    export PYTHONPATH=/tmp/flyer-site${PYTHONPATH:+:$PYTHONPATH}
  fi
  $py -m pip install -q --no-build-isolation --no-deps --no-index . || return 1
  $py -c "import fireflyer, fireflyer._core; print('fireflyer', fireflyer.__version__)"
}
step install install
flyer() { $py -m fireflyer.cli "$@"; }

# 2. Every GPU test; none may be skipped (the two-GPU NCCL tests need a second GPU).
gpu_tests() {
  local marks="gpu"
  [[ $gpus -lt 2 ]] && marks="gpu and not multi_gpu"
  $py -m pytest -m "$marks" -q -rs -p no:cacheprovider tests | tee /dev/stderr | tail -n 5 > "$results/pytest-summary.txt"
  local rc=${PIPESTATUS[0]}
  if grep -q "skipped" "$results/pytest-summary.txt" && [[ $rehearsal == 0 ]]; then echo "GPU tests were skipped"; return 1; fi
  return $rc
}
if [[ $rehearsal == 1 ]]; then skip gpu-tests "no GPU (rehearsal)"; else step gpu-tests gpu_tests; fi

# 3. This machine, its GPU matched to a shipped profile.
detect() {
  flyer profiles detect --quick --json > "$results/detect.json" || return 1
  $py - "$results/detect.json" "$rehearsal" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
gpus = d["host"].get("gpus", [])
print("GPUs:", [(g["device_name"], g.get("profile")) for g in gpus])
if sys.argv[2] == "0" and not (gpus and gpus[0].get("profile") in ("h100-sxm", "h200-sxm")):
    sys.exit("the GPU did not match the h100-sxm or h200-sxm profile")
PY
}
step detect detect

# 4. Kernels: the default suite with every available backend, then compare the result with itself.
step kernels-list flyer kernels list --device "$device" --json
if [[ $rehearsal == 1 ]]; then
  step kernels-bench flyer kernels bench --device cpu --quick --json --out "$results/kernels.json"
else
  step kernels-bench flyer kernels bench --device cuda --json --out "$results/kernels.json"
fi
step kernels-compare flyer kernels compare "$results/kernels.json" "$results/kernels.json" --json
# The roofline picture, where this version of flyer draws it (issue 25).
if flyer kernels bench --help 2>/dev/null | grep -q -- "--plot"; then
  step kernels-plot flyer kernels compare "$results/kernels.json" "$results/kernels.json" \
    --plot "$results/kernels-roofline.png"
else
  skip kernels-plot "this flyer has no kernels --plot yet"
fi

# 5. Pipeline: measured F/B/W of the MLA + MoE block, and a real NCCL run where there are GPUs enough.
step pipeline-measure flyer pipeline measure --device "$device" --json
if [[ $gpus -ge 2 ]]; then
  step pipeline-run-nccl flyer pipeline run -s dualpipe -p 2 -n 8 --backend nccl --json
else
  skip pipeline-run-nccl "needs 2 GPUs, this machine has $gpus"
  step pipeline-run-gloo flyer pipeline run -s dualpipe -p 2 -n 8 --backend gloo --json
fi

# 6. Trace: capture a short training job, analyse it (CUDA kernels found, compute and communication split),
#    merge the ranks.
rm -rf "$results/trace"
size=$([[ $rehearsal == 1 ]] && echo "--hidden 256 --batch 512" || echo "--hidden 4096 --batch 8192")
if [[ $gpus -ge 2 ]]; then
  step trace-capture flyer trace capture --active 3 --out "$results/trace" -- \
    torchrun --nproc-per-node 2 -m fireflyer.trace.demo --steps 8 $size
else
  # One GPU: a DDP job of one rank on NCCL still launches NCCL kernels; two ranks need two GPUs.
  step trace-capture flyer trace capture --active 3 --out "$results/trace" -- \
    torchrun --nproc-per-node 1 -m fireflyer.trace.demo --steps 8 $size
fi
trace_analyze() {
  flyer trace analyze "$results/trace" --json > "$results/trace-analyze.json" || return 1
  $py - "$results/trace-analyze.json" "$rehearsal" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["ranks"]:
    print(r["rank"], {k: r.get(k) for k in ("span_us", "compute_us", "comm_us", "comm_hidden_pct", "idle_pct")})
if sys.argv[2] == "0" and not all(r.get("compute_us") for r in d["ranks"]):
    sys.exit("no CUDA compute kernels found in the trace")
PY
}
step trace-analyze trace_analyze
step trace-merge flyer trace merge "$results/trace" --out "$results/trace-merged.json" --json

# 7. Inference: the estimate with the measured kernels beside the default one, where the group exists
#    (issue 24).
if flyer inference --help > /dev/null 2>&1; then
  # Decode at one fixed batch in both, so the two differ only by the kernel factors (an SLO may pick other
  # batches, and CPU results in a rehearsal meet none).
  for phase in prefill decode; do
    batch=$([[ $phase == decode ]] && echo "--batch 128" || echo "")
    step "inference-$phase-default" flyer inference estimate --deployment "deepseek-v3-$phase" $batch --json
    step "inference-$phase-measured" flyer inference estimate --deployment "deepseek-v3-$phase" $batch \
      --kernels "$results/kernels.json" --json
  done
else
  skip inference "this flyer has no inference group yet"
fi

echo "all steps done; summary: $summary"
cat "$summary"
