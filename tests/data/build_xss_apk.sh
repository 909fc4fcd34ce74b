#!/usr/bin/env bash
# Build tests/data/piscan-xss.apk from tests/data/xss-app (same tools, key and determinism
# steps as samples/build_sample.sh, which does the work).
# Usage: tests/data/build_xss_apk.sh [OUTPUT_APK]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$HERE/../../samples/build_sample.sh" "$HERE/xss-app" "${1:-$HERE/piscan-xss.apk}"
