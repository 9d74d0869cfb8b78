#!/usr/bin/env bash
# Rewrites docs/openapi.json from the live document (needs the test PostgreSQL, like the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q test -Dtest=OpenApiDocumentTests -Dopenapi.write=true -Dsurefire.failIfNoSpecifiedTests=false
echo "docs/openapi.json regenerated; review with: git diff --stat docs/openapi.json"
