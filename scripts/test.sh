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
# The fuzzing stage: each libFuzzer target of Fuzz/ for 20 s, seeded with the unit tests' fixtures and replaying the
# inputs of past findings; a crash, leak or hang fails the run (docs/FUZZING.md).
scripts/fuzz.sh 20 2>&1 | tee -a .build/test-output.txt
