#!/usr/bin/env bash
# One-time (and idempotent) setup of a tinytx checkout on Debian/Ubuntu:
#   - the cross toolchains, picolibc and QEMU (apt, --no-install-recommends),
#   - a virtualenv in .venv with tinytx installed editable plus the dev tools.
# Fast when everything is already there: it only checks and returns.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TINYTX_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

APT_PACKAGES=(
  build-essential cmake git
  gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  pyver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  missing+=("python${pyver}-venv")
fi

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "setup: missing Debian packages: ${missing[*]}; install them as root" >&2
      exit 1
    fi
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The virtualenv is (re)installed only when pyproject.toml or the pins changed since the
# last install. Every Python package comes at the exact version of
# requirements/constraints.txt (build requirements too), so every machine runs the suite
# against the versions it was written and measured with.
CONSTRAINTS="$ROOT/requirements/constraints.txt"
stamp="$VENV/.tinytx-installed"
want="$(cat "$ROOT/pyproject.toml" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing tinytx and its pinned Python dependencies into $VENV"
  pip_version="$(sed -n 's/^pip==//p' "$CONSTRAINTS")"
  setuptools_version="$(sed -n 's/^setuptools==//p' "$CONSTRAINTS")"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "pip==$pip_version"
  # setuptools in the venv too: tests/python/test_wheel_install.py builds the wheel
  # without build isolation (no network).
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "setuptools==$setuptools_version"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -c "$CONSTRAINTS" --build-constraint "$CONSTRAINTS" -e "$ROOT[dev]"
  echo "$want" > "$stamp"
fi

# The host ABI libraries: the kernels' scratch sizes and limits, compiled from the C
# sources for the host (tinytx.core.kernel_abi); quick when the cache already has them.
"$VENV/bin/python" -m tinytx.core.kernel_abi --build
