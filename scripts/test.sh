#!/usr/bin/env bash
# Runs the whole test suite: unit tests, protocol tests, and integration tests that start the real relyd binary
# against a real OpenID Provider (Glewlwyd over HTTPS, from ../shared/op).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
# The integration tests launch the built executables, so build them before the tests run.
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.txt
