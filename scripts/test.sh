#!/usr/bin/env bash
# Runs the whole test suite: unit, protocol and edge tests, then the integration tests that start the real relyd
# binary against real OpenID Providers (Glewlwyd over HTTPS and oidc-provider-mock, from ../shared/op), then the
# clients: the Python package, the Flask demo in headless Chromium, the Node.js and shell examples (pytest.ini),
# and last a short run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
# The integration tests launch the built executables, so build them before the tests run.
swift build --build-tests
# Two runs: the integration tests wait on real processes, and on a 2-core machine they would otherwise hold the
# cooperative thread pool that the timing-sensitive unit tests share with them.
swift test --skip-build --skip RelydIntegrationTests 2>&1 | tee .build/test-output.txt
swift test --skip-build --filter RelydIntegrationTests 2>&1 | tee -a .build/test-output.txt
# docs/CONFORMANCE.md is generated from the conformance cases above: fail when it no longer matches them.
scripts/conformance-report.sh --check .build/test-output.txt
# The client tests run in a virtualenv kept between runs (only the first run installs from PyPI); the relyd
# package is reinstalled from clients/python every time, so they test what a user would pip-install.
clients_venv="$HOME/.cache/relyd-tests/clients-venv"
if ! "$clients_venv/bin/python" -c 'import pytest, flask, selenium, requests, setuptools, wheel' 2>/dev/null; then
  python3 -m venv "$clients_venv"
  "$clients_venv/bin/pip" install -q --disable-pip-version-check pytest flask 'selenium>=4.11' requests setuptools wheel
fi
"$clients_venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./clients/python
RELYD_BINARY="$PWD/.build/debug/relyd" "$clients_venv/bin/python" -m pytest 2>&1 | tee -a .build/test-output.txt
# The fuzzing stage: each libFuzzer target of Fuzz/ for 20 s, seeded with the unit tests' fixtures and replaying the
# inputs of past findings; a crash, leak or hang fails the run (docs/FUZZING.md).
scripts/fuzz.sh 20 2>&1 | tee -a .build/test-output.txt
