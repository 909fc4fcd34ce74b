#!/usr/bin/env bash
# Build a signed APK from a committed apktool project (hand-written smali + resources).
#
# Usage: samples/build_sample.sh [PROJECT_DIR [OUTPUT_APK]]
#   default: samples/demo-app -> samples/piscan-demo.apk
#   tests/data/build_xss_apk.sh calls it for tests/data/xss-app -> tests/data/piscan-xss.apk
#
# Tools (Debian packages): apktool (2.7.0 in bookworm, uses aapt1 and
# /usr/share/android-framework-res/framework-res.apk), zipalign, apksigner; python3 for the
# zip normalisation step.
#
# Signing key: samples/demo-key.p12 (PKCS12, alias "piscan-demo", store and key password
# "piscan-demo"). It is a THROWAWAY TEST KEY generated once with
#   keytool -genkeypair -keystore demo-key.p12 -storetype PKCS12 -storepass piscan-demo \
#     -keypass piscan-demo -alias piscan-demo -keyalg RSA -keysize 2048 -validity 36500 \
#     -startdate 2026/01/01 -dname "CN=PIScan Demo Test Key, OU=Test Only, O=PIScan, C=CN"
# Never use it for anything but these samples.
#
# Determinism: the project is copied to a temporary directory (apktool writes build/ into
# the project it builds, and its framework cache into $HOME, so both point into the temp
# dir). smali and aapt output are deterministic for the same inputs; apktool stamps zip
# entries with the build time, so entries are rewritten in their original order with a fixed
# timestamp (1981-01-01) before zipalign. apksigner's RSA PKCS#1 v1.5 signatures carry no
# signing time, so the same tool versions give a byte-identical APK. Different apktool/aapt
# versions may order or encode resources differently; tests compare facts, not bytes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${1:-$HERE/demo-app}"
OUTPUT="${2:-$HERE/piscan-demo.apk}"
KEYSTORE="${PISCAN_SAMPLE_KEYSTORE:-$HERE/demo-key.p12}"
KEY_PASS="piscan-demo"
KEY_ALIAS="piscan-demo"
PYTHON="${PYTHON:-python3}"
FRAMEWORK_RES="${PISCAN_FRAMEWORK_RES:-/usr/share/android-framework-res/framework-res.apk}"

for tool in apktool zipalign apksigner "$PYTHON"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build_sample.sh: $tool not found (Debian packages: apktool zipalign apksigner)" >&2
        exit 2
    fi
done
if [ ! -f "$PROJECT/apktool.yml" ]; then
    echo "build_sample.sh: $PROJECT is not an apktool project (no apktool.yml)" >&2
    exit 2
fi
if [ ! -f "$FRAMEWORK_RES" ]; then
    echo "build_sample.sh: $FRAMEWORK_RES not found (Debian package android-framework-res)" >&2
    exit 2
fi
if [ ! -f "$KEYSTORE" ]; then
    echo "build_sample.sh: keystore $KEYSTORE not found" >&2
    exit 2
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home" "$WORK/framework"
ln -s "$FRAMEWORK_RES" "$WORK/framework/1.apk"
cp -R "$PROJECT" "$WORK/project"
rm -rf "$WORK/project/build" "$WORK/project/dist"

# apktool's Debian wrapper links the framework into $HOME/.local/share/apktool/framework, and
# apktool itself would use Java's user.home; --frame-path keeps both inside the temp dir.
HOME="$WORK/home" apktool --quiet b --frame-path "$WORK/framework" "$WORK/project" \
    -o "$WORK/unaligned.apk" >&2

"$PYTHON" - "$WORK/unaligned.apk" "$WORK/normalised.apk" <<'PY'
"""Rewrite a zip with fixed entry timestamps, keeping entry order and compression."""
import sys
import zipfile

src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
    for info in zin.infolist():
        out = zipfile.ZipInfo(info.filename, date_time=(1981, 1, 1, 0, 0, 0))
        out.compress_type = info.compress_type
        out.external_attr = 0o644 << 16
        out.create_system = 3
        zout.writestr(out, zin.read(info.filename), compress_type=info.compress_type,
                      compresslevel=9)
PY

zipalign -f -p 4 "$WORK/normalised.apk" "$WORK/aligned.apk"
apksigner sign --ks "$KEYSTORE" --ks-type PKCS12 --ks-key-alias "$KEY_ALIAS" \
    --ks-pass "pass:$KEY_PASS" --key-pass "pass:$KEY_PASS" \
    --out "$WORK/signed.apk" "$WORK/aligned.apk"
apksigner verify "$WORK/signed.apk"

mkdir -p "$(dirname "$OUTPUT")"
cp "$WORK/signed.apk" "$OUTPUT.tmp"
mv "$OUTPUT.tmp" "$OUTPUT"
echo "built $OUTPUT"
