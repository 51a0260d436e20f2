#!/usr/bin/env bash
# Renders an evaluation report's index.html to a PNG with headless Chromium.
#
# Usage:
#   scripts/screenshot_report.sh REPORT_DIR OUTPUT_PNG [WIDTH,HEIGHT]
#
#   REPORT_DIR  folder written by dic_tf.report.page.write_report (holds index.html)
#   OUTPUT_PNG  screenshot to write
#   WIDTH,HEIGHT  window size in pixels (default 1280,2000)
#
# Needs Chromium (Debian: apt-get install -y chromium), found on PATH or at
# /usr/bin/chromium; set CHROMIUM to use another binary. Runs offline with a
# throw-away profile.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
report_dir=$1
output_png=$2
window_size=${3:-1280,2000}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || echo /usr/bin/chromium)}

if [[ ! -f "$report_dir/index.html" ]]; then
  echo "error: no index.html in report folder '$report_dir'" >&2
  exit 1
fi
if [[ ! -x "$chromium" ]]; then
  echo "error: Chromium not found at '$chromium' (apt-get install -y chromium, or set CHROMIUM)" >&2
  exit 1
fi

index="$(cd "$report_dir" && pwd)/index.html"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
output_abs="$(cd "$(dirname "$output_png")" && pwd)/$(basename "$output_png")"
rm -f "$output_abs"

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --window-size="$window_size" \
  --screenshot="$output_abs" "file://$index" >/dev/null 2>&1

if [[ ! -s "$output_abs" ]]; then
  echo "error: Chromium wrote no screenshot to '$output_abs'" >&2
  exit 1
fi
echo "$output_abs"
