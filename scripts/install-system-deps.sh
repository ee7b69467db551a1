#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those that are missing:
#   postgresql      throwaway database servers for the PostgreSQL half of the suite
#   chromium        the browser that the end-to-end tests (tests/e2e, Playwright) drive
#   fonts-noto-cjk  a CJK font, for server-side charts (matplotlib) and for the browser
#   nginx-light     the reverse proxy of deploy/nginx-canteen.conf, run by tests/test_deploy.py (and openssl, for
#                   its throwaway certificate)
set -euo pipefail

has_noto_cjk() {
    compgen -G '/usr/share/fonts/opentype/noto/NotoSansCJK*' >/dev/null && return 0
    command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' && return 0
    return 1
}

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
has_noto_cjk || missing+=(fonts-noto-cjk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "error: need root or sudo to install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
