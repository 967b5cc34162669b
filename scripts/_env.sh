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

# The book's own copies of the JavaScript it needs, so that it reads with no network (a
# classroom without internet; the browser test serves it on loopback): MathJax for the math,
# and RequireJS with the ipywidgets HTML manager for the (static) progress-bar widgets of the
# executed notebooks. Fetched once from the npm registry into the ignored folder _vendor/
# (never committed); _config.yml lists _vendor/static in html_static_path, so the build
# copies it to _build/html/_static/ (mathjax/, widgets/).
VENDOR="$ROOT/_vendor"
VENDOR_PACKAGES="mathjax@3.2.2 @jupyter-widgets/html-manager@1.0.6 requirejs@2.3.4"
if [ "$(cat "$VENDOR/installed" 2>/dev/null)" != "$VENDOR_PACKAGES" ] \
        || [ ! -f "$VENDOR/static/mathjax/tex-mml-chtml.js" ] \
        || [ ! -f "$VENDOR/static/widgets/embed-amd.js" ]; then
    if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
            && [ "$(id -u)" = 0 ]; then
        echo "==> installing npm (Debian) to fetch MathJax and the widget scripts"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q npm >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q npm >/dev/null; }
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "error: npm is needed once, to fetch MathJax into _vendor/ (apt-get install npm," >&2
        echo "       or https://nodejs.org), then run again." >&2
        exit 1
    fi
    echo "==> fetching $VENDOR_PACKAGES (npm) into _vendor/"
    rm -rf "$VENDOR" && mkdir -p "$VENDOR/npm" "$VENDOR/static/mathjax" "$VENDOR/static/widgets"
    # shellcheck disable=SC2086  # one word per package
    (cd "$VENDOR/npm" && npm pack --silent $VENDOR_PACKAGES >/dev/null)
    for tarball in "$VENDOR"/npm/*.tgz; do
        mkdir -p "${tarball%.tgz}" && tar -xzf "$tarball" -C "${tarball%.tgz}"
    done
    MJ="$(echo "$VENDOR"/npm/mathjax-*/package)"
    # MathJax: the combined component the book loads (Sphinx's default: TeX and MathML in,
    # CommonHTML out), the pieces it loads on demand (TeX extensions, fonts, menu,
    # accessibility), and the licence
    cp -r "$MJ/es5/tex-mml-chtml.js" "$MJ/es5/input" "$MJ/es5/output" "$MJ/es5/ui" \
        "$MJ/es5/a11y" "$MJ/es5/sre" "$MJ/es5/adaptors" "$MJ/LICENSE" "$VENDOR/static/mathjax/"
    rm -rf "$VENDOR/static/mathjax/output/svg"  # the book uses the CommonHTML output
    # the widgets' HTML manager (AMD build, with its fonts) and RequireJS, which loads it
    HM="$(echo "$VENDOR"/npm/jupyter-widgets-html-manager-*/package)"
    cp "$HM/dist/embed-amd.js" "$HM/dist/"*.woff "$HM/dist/"*.woff2 "$HM/dist/"*.ttf \
        "$HM/dist/"*.eot "$HM/dist/"*.svg "$VENDOR/static/widgets/"
    cp "$HM/LICENSE" "$VENDOR/static/widgets/LICENSE.html-manager"
    cp "$(echo "$VENDOR"/npm/requirejs-*/package)/require.js" "$VENDOR/static/widgets/"
    echo "$VENDOR_PACKAGES" > "$VENDOR/installed"
fi
