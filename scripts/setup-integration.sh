#!/usr/bin/env bash
# Everything the integration tests need beyond scripts/setup.sh (idempotent): Docker and
# its images, the CID reference, js-libp2p, the deploy kit, the HTTP and UI tooling.
# Called by scripts/test.sh and scripts/stress-suite.sh, so both run the same suite.
set -euo pipefail
cd "$(dirname "$0")/.."
for extra in scripts/setup-docker.sh scripts/setup-cid-reference.sh scripts/setup-interop.sh \
    scripts/setup-deploy.sh scripts/setup-http.sh scripts/setup-ui.sh; do
    bash "$extra"
done
