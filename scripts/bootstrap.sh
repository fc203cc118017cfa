#!/usr/bin/env bash
# Idempotent set-up for `make run` and `make test`: Debian packages, then the virtualenv.
# Safe to run again and again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# One list with the Dockerfile (scripts/debian-packages.txt), plus what only the tests need.
mapfile -t APT_PACKAGES < <(sed 's/#.*//' scripts/debian-packages.txt scripts/debian-packages-test.txt | tr -s ' \t' '\n' | grep -v '^$')

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
# The tested versions, each file checked against its hash (requirements-test.lock, made from
# pyproject.toml's ranges by pip-compile: see README "Dependencies"); then the project itself.
# Reinstall only when the project or the lock changed. uv installs them: it fetches and unpacks in
# parallel where pip goes one file at a time — on a fresh clone 23 s against pip's 190 s (load 4–7,
# 2026-12-07), the same 117 packages at the same versions; it checks the same hashes.
UV_VERSION=0.13.10
stamp=.venv/.installed-$(cat pyproject.toml requirements-test.lock | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing the locked dependencies and the project into .venv"
  [ -x .venv/bin/uv ] && .venv/bin/uv --version | grep -q " $UV_VERSION" || .venv/bin/pip install -q "uv==$UV_VERSION"
  .venv/bin/uv pip install -q --python .venv/bin/python --require-hashes -r requirements-test.lock
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The handwriting material of the handwritten specimen pages (bench/handwriting/package.json: Make Me a
# Hanzi's stroke data, two OFL handwriting fonts), each package checked against package-lock.json's hash.
# npm comes with Node.js (not a Debian package we can rely on: it conflicts with some Node installs).
if [ ! -d bench/handwriting/node_modules/hanzi-writer-data ]; then
  if command -v npm >/dev/null; then
    echo "bootstrap: installing the handwriting material (npm ci in bench/handwriting)"
    npm ci --prefix bench/handwriting --no-audit --no-fund --silent
  else
    echo "bootstrap: no npm — handwritten specimen pages are written in the LXGW WenKai hand only"
  fi
fi
