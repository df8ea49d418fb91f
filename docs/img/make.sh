#!/usr/bin/env bash
# The README's pictures of the --plot commands of eplb, kernels, inference and fs3, drawn from the shipped
# samples by the README's own command lines (tests/test_docs_img.py checks that each `flyer` line here is in
# the README as written), in an empty folder, then copied here under the names the README embeds.
#
#   docs/img/make.sh            # from the repository root, with flyer installed (about 2 minutes)
set -euo pipefail
img=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# eplb: the sample loads, a plan of the first, then the pictures
flyer eplb sample --out load.npy
flyer eplb sample --kind next-load --out next-load.npy
flyer eplb plan load.npy --model deepseek-v3 --nodes 4 --gpus 32 --out plan.json
flyer eplb plan next-load.npy --previous plan.json --model deepseek-v3 --plot plan.png
flyer eplb evaluate plan.json next-load.npy --model deepseek-v3 --plot evaluate.png
flyer eplb rebalance --load next-load.npy --current plan.json --model deepseek-v3 --dry-run --plot rebalance.png

# kernels: the quick suite on this CPU, then a comparison with a second run of its mla cases
flyer kernels bench --quick --out base.json --plot roofline.png
flyer kernels bench mla --quick --out new.json
flyer kernels compare base.json new.json --allow-missing --threshold 50% --plot compare.png || [ $? = 1 ]

# inference
flyer inference estimate --deployment deepseek-v3-decode --frontier --plot estimate.png
flyer inference plan --tokens-per-day 608e9 168e9 --diurnal --plot day.png

# fs3: a chain table and a bench run on this folder's disk
flyer fs3 plan chains --nodes 25 --min-targets-per-disk 12 --plot chains.png
flyer fs3 bench all . --size 128MiB --no-sort --plot bench.png

for pair in plan:eplb-plan evaluate:eplb-evaluate rebalance:eplb-rebalance roofline:kernels-bench \
    compare:kernels-compare estimate:inference-estimate day:inference-plan chains:fs3-chains bench:fs3-bench; do
    cp "${pair%%:*}.png" "$img/${pair#*:}.png"
done
ls -l "$img"/{eplb,kernels,inference,fs3}-*.png
