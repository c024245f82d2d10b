#!/usr/bin/env bash
# Install the Debian packages the test suite needs beyond Python (called by `make test`
# through `make system-deps`). Each argument is a command that must exist, followed by the
# packages that provide it: "chromium=chromium" "chromedriver=chromium-driver".
# - Everything present: exit 0 at once (no apt, no network).
# - Missing, and we are root or have passwordless sudo: apt-get install them.
# - Missing otherwise: stop at once with the one command to run (exit 1).
set -euo pipefail

missing_packages=()
for spec in "$@"; do
    command_name=${spec%%=*}
    package=${spec#*=}
    if ! command -v "$command_name" >/dev/null 2>&1; then
        missing_packages+=("$package")
    fi
done
[ ${#missing_packages[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing_packages[@]}" | sort -u | paste -sd' ' -)
if [ "$(id -u)" -eq 0 ]; then
    sudo_prefix=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_prefix=(sudo -n)
else
    echo "error: the tests need the Debian packages: ${packages}; install them with" >&2
    echo "    sudo apt-get update && sudo apt-get install -y ${packages}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the tests need: ${packages} (Debian package names), and this machine has no apt-get; install them, then run make test again" >&2
    exit 1
fi
echo "==> installing Debian packages: ${packages}"
"${sudo_prefix[@]}" apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive "${sudo_prefix[@]}" apt-get install -y -qq --no-install-recommends ${packages} >/dev/null
