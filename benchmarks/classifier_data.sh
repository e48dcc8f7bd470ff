#!/bin/bash
# Data for benchmarks/classifier.py at the paper's size (issue 15): L = 100, Heun 5 fs, periodic, numba on CPU.
# Training: the θ = 50° diagram; evaluation: the θ = 40° diagram on the same grid, two sets never seen in kind,
# and 15 training-grid points again at 2 fs (5 fs gives the same labels: see benchmarks/RESULTS.md).
# Then the benchmark, which also writes the shipped model (models/shipped/classifier_L100.onnx).
# Times on the 2-core VM under load: ≈ 10 + 10 + 2 + 2 + 2 min, benchmark ≈ 10 min.
set -e
cd "$(dirname "$0")/.."
H=".venv/bin/hil"
C="--size 100 --dt 5fs --batch 12 --threads 2 --yes"
D=out/classifier
mkdir -p $D
$H sim diagram --theta 50 --alpha 0.02:0.6:12 --t-w 2ps:40ps:14 $C --out $D/train_theta50.h5 --plot $D/train_theta50.png
$H sim diagram --theta 40 --alpha 0.02:0.6:12 --t-w 2ps:40ps:14 $C --out $D/eval_theta40.h5 --plot $D/eval_theta40.png
$H sim diagram --theta 40 --alpha 0.1:0.5:4 --t-w 4ps:36ps:5 $C --frames 5ps --out $D/eval_5ps.h5 --plot $D/eval_5ps.png
$H sim diagram --theta 40 --alpha 0.1:0.5:4 --t-w 4ps:36ps:5 $C --temperature 1.5K --out $D/eval_T1.5K.h5 --plot $D/eval_T1.5K.png
$H sim diagram --theta 50 --alpha 0.1254545455,0.3363636364,0.5472727273 \
    --t-w 4.923076923ps,13.69230769ps,22.46153846ps,31.23076923ps,40ps --size 100 --dt 2fs --batch 15 --threads 2 \
    --yes --out $D/dt2fs_theta50.h5
.venv/bin/python benchmarks/classifier.py --train $D/train_theta50.h5 --eval $D/eval_theta40.h5 \
    --unseen $D/eval_5ps.h5 $D/eval_T1.5K.h5 --dt-check $D/dt2fs_theta50.h5 --ship
