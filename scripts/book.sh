#!/usr/bin/env bash
# Build the rendered book into _build/html, executing every notebook (book budget, embedded
# data, CPU unless a GPU is present). Re-runs only re-execute notebooks that changed.
#   bash scripts/book.sh            # TUTORIAL_BUDGET=smoke|book|full to change the budget
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
export TUTORIAL_BUDGET="${TUTORIAL_BUDGET:-book}"
export TUTORIAL_STATIC_WIDGETS=1  # explorers draw static figures in the rendered book
start=$(date +%s)
echo "==> building the book (budget: $TUTORIAL_BUDGET)"
jupyter-book build . -n -W --keep-going
echo "==> done in $(( $(date +%s) - start )) s: open _build/html/index.html"
