#!/usr/bin/env bash
# Checks that `npm ci` accepts package-lock.json as committed (what CI does on a fresh clone), without installing:
# copies the manifests into a scratch folder and runs `npm ci --dry-run` there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$root"
git ls-files package.json package-lock.json 'packages/*/package.json' 'apps/*/package.json' | while read -r f; do
  mkdir -p "$tmp/$(dirname "$f")"
  git show "HEAD:$f" > "$tmp/$f"
done
cd "$tmp"
if npm ci --dry-run --ignore-scripts >"$tmp/out.log" 2>&1; then echo "lock ok"; else grep -E "Missing|Invalid|error" "$tmp/out.log" | head -20; exit 1; fi
# And on the Raspberry Pi: linux-arm64 with glibc, the arm-only optional dependencies included.
node "$root/scripts/check-lock-platform.mjs"
