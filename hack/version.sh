#!/usr/bin/env bash
# Prints Slipway's version from git: the nearest tag, or 0.0.0-dev+<commit> in a
# clone without tags, so every build names exactly what it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
if v=$(git describe --tags --dirty 2>/dev/null); then
  echo "${v}"
elif c=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    c="${c}.dirty"
  fi
  echo "0.0.0-dev+${c}"
else
  echo "0.0.0-dev"
fi
