#!/bin/bash
#
# test/demo.sh -- build transfer_guard, install it, and show it at work
#
# Installs the missing Debian packages (via sudo unless run as root), builds
# and installs the extension for PostgreSQL 15, then runs test/demo.sql in a
# throwaway cluster that is dropped afterwards.  Run from anywhere:
#
#     test/demo.sh
#
set -euo pipefail

source "$(dirname "$0")/lib/prepare.sh"

tg_prepare "${TG_BUILD_PACKAGES[@]}"

tg_say "demo: running test/demo.sql in a throwaway cluster"
# stderr joins stdout so that the refused transfer's error appears in order
tg_virtualenv "$TG_PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -f "$TG_ROOT/test/demo.sql" 2>&1
