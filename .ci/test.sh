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
smoke_rc=0
if [ "$#" = 0 ] && [ "${QWENVOICE_SKIP_PACKAGING_SMOKE:-0}" != 1 ]; then
  # Full runs only: build the frozen app and check it end to end (about 3 minutes).
  echo "== packaging smoke test"; ./packaging/smoke_test.sh --rebuild || smoke_rc=$?
fi
echo "== pytest"
set +e
.venv/bin/python -m pytest -ra -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi
if [ "$rc" = 0 ] && [ "$smoke_rc" != 0 ]; then echo "packaging smoke test failed"; exit "$smoke_rc"; fi
exit "$rc"
