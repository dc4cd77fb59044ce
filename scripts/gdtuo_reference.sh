#!/usr/bin/env bash
# Regenerates tests/fixtures/gdtuo_reference.txt from the authors' reference implementation.
# Not run by CI: it installs PyTorch (on x86-64 Linux the PyPI wheel brings its CUDA libraries,
# about 5 GB, although everything runs on the CPU) into a throw-away venv.
#   bash scripts/gdtuo_reference.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-/tmp/gdtuo-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "gradient-descent-the-ultimate-optimizer==1.0" "torch==2.15.0"
"$venv/bin/python" -W ignore scripts/gdtuo_reference.py > tests/fixtures/gdtuo_reference.txt
echo "wrote tests/fixtures/gdtuo_reference.txt ($(wc -l < tests/fixtures/gdtuo_reference.txt) lines)"
