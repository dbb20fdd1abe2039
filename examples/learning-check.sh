#!/bin/sh
# Issue 3's learning check: pre-train `tiny` for at most 10 minutes on forward problems of op 2–4
# (weighted towards 2–3), then greedily decode held-out op 2–3 problems and verify the traces.
# Measured on 2 cores: 62.5% verified on seed 1000003, 58.8% on seed 2000003 (docs/training.md).
set -e
OUT=${1:-runs/learning-check}
node "$(dirname "$0")/../bin/interplay.js" pretrain --preset tiny --mixture examples/op2-4_forward_sequential_w23.json \
  --tokens 9000000 --minutes 10 --seed 1 --batch 8 --seq-len 512 --lr 3e-3 --packing fit \
  --eval-every 200 --ckpt-every 200 --out "$OUT"
node "$(dirname "$0")/../bin/interplay.js" decode --model "$OUT" --ops 2-3 --per-op 100
