#!/usr/bin/env bash
# Install what the explorer and its browser tests need, idempotently and quietly:
# dash + plotly (the "explorer" extra), the Playwright python package (driver only:
# never `playwright install`, no browser download) and Debian's chromium + chromium-driver.
# Usage: .ci/install_explorer_deps.sh   (from .ci/run; needs root for apt-get)
set -euo pipefail

PYTHON="${PYTHON:-python}"

if ! "$PYTHON" -c "import dash, plotly, playwright.sync_api" >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "dash>=2.14" "plotly>=5" playwright
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

"$PYTHON" -c "import dash, plotly, playwright.sync_api; print('explorer deps: dash', dash.__version__, 'plotly', plotly.__version__)"
chromium --version
