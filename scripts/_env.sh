# Sourced by scripts/book.sh and scripts/test.sh: make a local virtual environment with
# everything the book needs. Safe to re-run: it only installs what is missing or changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${TUTORIAL_VENV:-$ROOT/.venv}"

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "error: Python 3.10 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
    echo "       Set PYTHON=/path/to/python3.1x and run again." >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"

quiet_pip() {  # pip, without the noise of unreachable extra index locations
    "$PY" -m pip install --disable-pip-version-check "$@" 2>&1 \
        | grep -v -e "is ignored: it is neither a file nor a directory" || true
    return "${PIPESTATUS[0]}"
}

# torch first, and only when there is none: 2.13.0 (the CPU build on this machine), so that
# no later install pulls a newer torch with several GB of CUDA packages. pyproject asks for
# torch>=2.1, which the installed one satisfies.
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "==> installing torch==2.13.0"
    quiet_pip --quiet "torch==2.13.0"
fi

# The package with the book and test extras, re-installed only when pyproject.toml changes.
STAMP="$VENV/.tutorial_lib-installed"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ] \
        || ! "$PY" -c "import tutorial_lib, jupyter_book, nbval" >/dev/null 2>&1; then
    echo "==> installing tutorial_lib (editable) with the book and test extras"
    quiet_pip --quiet -e ".[book,test]"
    echo "$WANT" > "$STAMP"
fi
"$PY" -c "import torch, tutorial_lib; print(f'==> torch {torch.__version__}, tutorial_lib {tutorial_lib.__version__}')"
