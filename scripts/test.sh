#!/usr/bin/env bash
# Runs the whole test suite: unit, protocol and edge tests, then the integration tests that start the real relyd
# binary against real OpenID Providers (Glewlwyd over HTTPS and oidc-provider-mock, from ../shared/op).
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
