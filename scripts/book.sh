#!/usr/bin/env bash
# Build the rendered book into _build/html, executing every notebook (book budget, embedded
# data, CPU unless a GPU is present). Re-runs only re-execute notebooks that changed.
#   bash scripts/book.sh            # TUTORIAL_BUDGET=smoke|book|full to change the budget
#   TUTORIAL_JOBS=1 bash scripts/book.sh   # notebooks one at a time (default: 2 at a time)
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
export TUTORIAL_BUDGET="${TUTORIAL_BUDGET:-book}"
export TUTORIAL_STATIC_WIDGETS=1  # explorers draw static figures in the rendered book
start=$(date +%s)
echo "==> building the book (budget: $TUTORIAL_BUDGET)"
# One cache of executed notebooks per budget, so that a smoke run's outputs never stand in
# for the book's. The notebooks the cache lacks run first, TUTORIAL_JOBS at a time (on a
# CPU, two kernels with one thread each train faster than one with two); the build then
# takes their outputs from the cache.
CACHE="_build/.jupyter_cache/$TUTORIAL_BUDGET"
"$PY" tools/book_config.py "_build/config-$TUTORIAL_BUDGET.yml" --cache "$CACHE"
"$PY" tools/execute_notebooks.py --cache "$CACHE" --jobs "${TUTORIAL_JOBS:-2}" || true
jupyter-book build . --config "_build/config-$TUTORIAL_BUDGET.yml" -n -W --keep-going
echo "==> done in $(( $(date +%s) - start )) s: open _build/html/index.html"
