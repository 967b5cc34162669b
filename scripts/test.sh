#!/usr/bin/env bash
# Run every test: ruff, a full book build in the smoke budget (every notebook force-executed,
# zero warnings allowed), then the unit tests, the built book opened in headless Chromium,
# and nbval over every notebook as Colab runs it (scripts/colab_notebooks.sh). The tests
# about the notebooks' outputs read the build's executed copies (TUTORIAL_BUILT_BOOK)
# instead of executing them again: a notebook runs twice in all, in the build and under nbval.
#   bash scripts/test.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
export TUTORIAL_BUDGET=smoke
export TUTORIAL_STATIC_WIDGETS=1  # explorers draw static figures (no kernel in the book)
start=$(date +%s)

# The browser test opens the built book in headless Chromium: Debian's package, installed here
# when it is missing and this runs as root with apt-get (CI on a clean machine). Elsewhere
# the browser test is skipped, with the reason.
CHROMIUM="${TUTORIAL_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (Debian) for the browser test"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
if [ -x "$CHROMIUM" ]; then
    export TUTORIAL_CHROMIUM="$CHROMIUM"  # the browser test then runs, and never skips
else
    echo "==> no Chromium at $CHROMIUM (not root, or no apt-get): the browser test is skipped"
fi

echo "==> ruff"
ruff check .

echo "==> book build (smoke budget, notebooks force-executed, warnings are errors)"
OUT="_build/test-smoke"
rm -rf "$OUT"  # a fresh build: Sphinx would otherwise skip (and not re-execute) unchanged pages
mkdir -p "$OUT"
"$PY" tools/book_config.py "$OUT/_config.yml" --execute force  # never trust a cache
jupyter-book build . --config "$OUT/_config.yml" --path-output "$OUT" -n -W --keep-going
export TUTORIAL_BUILT_BOOK="$ROOT/$OUT/_build/html"
echo "==> book built in $(( $(date +%s) - start )) s"

echo "==> pytest: unit tests, the built book (also in Chromium)"
pytest -p no:cacheprovider tests

echo "==> nbval over every notebook, as Colab runs it (fresh venv, the pinned install line)"
# pytest (nbval) runs last, so that its summary line ("N passed") closes the output.
bash "$ROOT/scripts/colab_notebooks.sh"
