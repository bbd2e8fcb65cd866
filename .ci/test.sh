#!/usr/bin/env bash
# Sets everything up from nothing and runs the whole test suite:
# system packages, venv with the test extra, a virtual X display (Xvfb) and virtual audio devices
# (PulseAudio null sinks: "speaker" the app plays to, "micfeed" tests play into, "mic" the app records),
# then the linters and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
QWENVOICE_EXTRAS=test ./packaging/bootstrap.sh
. .ci/devices.sh

echo "== ruff"; .venv/bin/ruff check qwenvoice tests
echo "== mypy"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"
set +e
.venv/bin/python -m pytest -ra -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi
exit "$rc"
