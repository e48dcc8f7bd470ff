#!/bin/bash
# Data for benchmarks/classifier.py on CPU: L = 32, Heun 5 fs, periodic (see benchmarks/RESULTS.md, issue 8).
# Training: the θ = 50° diagram; evaluation: the θ = 40° diagram and two sets never seen in kind.
set -e
cd "$(dirname "$0")/.."
H=".venv/bin/hil"
C="--size 32 --dt 5fs --batch 12 --threads 1"
D=out/classifier
mkdir -p $D
$H sim diagram --theta 50 --alpha 0.02:0.6:12 --t-w 2ps:40ps:14 $C --out $D/train_theta50.h5 --plot $D/train_theta50.png
$H sim diagram --theta 40 --alpha 0.02:0.6:8 --t-w 2ps:40ps:9 $C --out $D/eval_theta40.h5 --plot $D/eval_theta40.png
$H sim diagram --theta 40 --alpha 0.1:0.5:4 --t-w 4ps:36ps:5 $C --frames 5ps --out $D/eval_5ps.h5 --plot $D/eval_5ps.png
$H sim diagram --theta 40 --alpha 0.1:0.5:4 --t-w 4ps:36ps:5 $C --temperature 1.5K --out $D/eval_T1.5K.h5 --plot $D/eval_T1.5K.png
.venv/bin/python benchmarks/classifier.py --train $D/train_theta50.h5 --eval $D/eval_theta40.h5 \
    --unseen $D/eval_5ps.h5 $D/eval_T1.5K.h5
