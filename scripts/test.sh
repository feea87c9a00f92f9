#!/usr/bin/env bash
# Install tagfeed with its test extras into .venv and run the whole test suite.
# This is the README's test command and what CI runs (.ci/run calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# tests/test_readers.py drives real clients from Debian packages, tests/test_pgstore.py
# starts a real PostgreSQL and tests/test_metrics.py a real Prometheus from them: install the missing ones with apt (as root or with
# passwordless sudo). Without them those tests fail, naming the tool; they are never skipped.
install_readers() {
    local missing=() sudo=()
    command -v newsboat >/dev/null || missing+=(newsboat)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v promtool >/dev/null || missing+=(prometheus)  # tests/test_metrics.py: promtool and a real server
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "scripts/test.sh: missing ${missing[*]}, and not root nor passwordless sudo:" \
                 "cannot apt-get install; the tests that need them will fail" >&2
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "scripts/test.sh: missing ${missing[*]} and no apt-get; the tests that need them will fail" >&2
        return 0
    fi
    echo "scripts/test.sh: installing ${missing[*]} with apt-get" >&2
    "${sudo[@]}" apt-get update -q >/dev/null \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || echo "scripts/test.sh: apt-get install ${missing[*]} failed; the tests that need them will fail" >&2
}
install_readers

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored" || true
exec .venv/bin/python -m pytest "$@"
