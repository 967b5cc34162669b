#!/usr/bin/env bash
# nbval over every notebook, run as Colab runs it (called by scripts/test.sh, last):
#   - a fresh virtual environment with only torch, a kernel and the test runner;
#   - `google.colab` imported in every interpreter of it, so each notebook's first cell
#     installs the package exactly as on Colab: its pip line, pinned to the book's release
#     tag, with the GitHub address redirected to a local clone of this repository's
#     committed state, tagged with that release;
#   - each notebook copied alone into an empty folder, so nothing can read the
#     repository's files: a stored result it shows must come from the installed package.
# Needs the package registries (the package's dependencies are installed by the pip line).
#   bash scripts/colab_notebooks.sh [NOTEBOOK ...]    (default: every notebooks/ch*.ipynb)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
REPO_URL="https://github.com/gans-vaes-book/gans-and-vaes"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/colab-sim.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml")"
echo "==> Colab simulation: tutorial-lib v$VERSION from a local clone, notebooks alone"
git clone --quiet "$ROOT" "$WORK/repo"  # the committed state, as a release would be
git -C "$WORK/repo" tag --force "v$VERSION" >/dev/null

"$PYTHON" -m venv "$WORK/venv"
V="$WORK/venv/bin/python"
# torch first and pinned, as in _env.sh: nothing may pull a newer one (Colab has its own)
"$V" -m pip install --quiet --disable-pip-version-check "torch==2.13.0" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
"$V" -m pip install --quiet --disable-pip-version-check ipykernel pytest "nbval>=0.11" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
SITE="$("$V" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$SITE/google/colab"
: > "$SITE/google/__init__.py"
: > "$SITE/google/colab/__init__.py"
echo "import google.colab" > "$SITE/zz_colab_simulation.pth"  # in sys.modules at start-up

# the notebooks' pinned address, fetched from the local clone (git rewrites the URL)
export GIT_CONFIG_COUNT=1
export GIT_CONFIG_KEY_0="url.file://$WORK/repo.insteadOf"
export GIT_CONFIG_VALUE_0="$REPO_URL"

mkdir -p "$WORK/notebooks"
if [ "$#" -gt 0 ]; then NOTEBOOKS=("$@"); else NOTEBOOKS=("$ROOT"/notebooks/ch*.ipynb); fi
for nb in "${NOTEBOOKS[@]}"; do
    folder="$WORK/notebooks/$(basename "$nb" .ipynb)"
    mkdir -p "$folder" && cp "$nb" "$folder/"
done
cd "$WORK/notebooks"
# the variables scripts/test.sh set for the book stay (smoke budget, static explorers)
env -u PYTHONPATH -u VIRTUAL_ENV PATH="$WORK/venv/bin:$PATH" \
    "$V" -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env -- */*.ipynb
