# transfer_guard/Makefile

EXTENSION = transfer_guard
EXTVERSION = $(shell grep default_version $(EXTENSION).control | \
	sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = transfer_guard
OBJS = \
	src/amount.o \
	src/checks.o \
	src/citus.o \
	src/colref.o \
	src/contention.o \
	src/engine.o \
	src/exec.o \
	src/extension.o \
	src/guard.o \
	src/holds.o \
	src/hot.o \
	src/idempotency.o \
	src/journal.o \
	src/keys.o \
	src/pending.o \
	src/registry.o \
	src/report.o \
	src/rows.o \
	src/slots.o \
	src/statements.o \
	src/transfer_guard.o \
	src/worker.o

DATA = $(wildcard $(EXTENSION)--*.sql)
PGFILEDESC = "transfer_guard - guarded balance transfers"

PG_CPPFLAGS = -I$(srcdir)/src -DTG_EXTVERSION=\"$(EXTVERSION)\"

REGRESS = setup guard transfer errors keys limits batch security \
	ledger idempotency try_transfer versions hazards rowpath journal_indexes renames hot holds upgrade
REGRESS_OPTS = --inputdir=.

ISOLATION = opposite_transfers drain_one_account nowait_locked \
	batch_opposite_orders fk_insert_not_blocked guard_change_seen \
	idempotency_concurrent try_busy row_changes_concurrent row_path_mixed \
	journal_indexes_switch try_busy_policy hot_credit_no_lock hot_debit_settle \
	hot_unmark hot_slots holds_capture_release holds_capture_expiry \
	holds_two_captures holds_rollback holds_unguard
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso \
	--load-extension=transfer_guard

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PostgreSQL 13 or later, said before anything is compiled (src/compat.h
# says it again to a compiler reached some other way)
TG_MIN_MAJOR = 13
ifneq ($(shell test "$(firstword $(subst ., ,$(MAJORVERSION)))" -ge $(TG_MIN_MAJOR) 2>/dev/null && echo ok),ok)
$(error transfer_guard requires PostgreSQL $(TG_MIN_MAJOR) or later, and $(PG_CONFIG) is PostgreSQL $(MAJORVERSION); choose another server with PG_CONFIG=/path/to/pg_config)
endif

EXTRA_CLEAN = output_iso results regression.diffs regression.out

.PHONY: pgtap
pgtap:
	pg_prove --ext .sql -r test/pgtap

# The release tarball, as PGXN takes it: the committed tree at HEAD (less
# what .gitattributes marks export-ignore) under transfer_guard-VERSION/,
# VERSION being META.json's.
DISTVERSION = $(shell perl -MJSON::PP -0777 -ne 'print decode_json($$_)->{version}' $(srcdir)/META.json)
DISTFILE = $(EXTENSION)-$(DISTVERSION).zip

.PHONY: dist
dist:
	git -C $(srcdir) archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ \
		--output=$(abspath $(DISTFILE)) HEAD

# Every module's object depends on the headers: a changed struct in one
# (table.h, request.h) must rebuild every file that reads it.
$(OBJS): $(wildcard src/*.h)
