# Makefile for crm_privacy (PGXS)
#
#   make && make install        build and install into the server pg_config names
#   make installcheck           pg_regress suites against a server you already run
#   make demo / make test       the README's two commands (see test/run.sh)

EXTENSION    = crm_privacy
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big   = crm_privacy
OBJS         = src/crm_privacy.o src/label.o src/ddl.o src/mask.o src/anon.o \
               src/pseudonym.o src/views.o src/roles.o src/trust.o src/audit.o src/hooks.o src/accesslog.o src/requests.o \
               src/masking.o src/anonymize.o src/snapshot.o src/stats.o \
               src/citus.o

# The install script is assembled from these sources, in this order.
SQL_SOURCES  = src/sql/init.sql src/sql/labels.sql src/sql/mask.sql src/sql/anon.sql \
               src/sql/pseudonym.sql src/sql/views.sql src/sql/citus.sql src/sql/audit.sql src/sql/requests.sql src/sql/anonymize.sql src/sql/snapshot.sql src/sql/keeping.sql \
               src/sql/reports.sql src/sql/ddl.sql
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql
# Earlier versions, as released (never edited), and the scripts that update
# a database from each to the next (ALTER EXTENSION crm_privacy UPDATE).
DATA         = $(EXTENSION)--0.1.sql $(EXTENSION)--0.1--0.2.sql
# The anonymized copy of a database (doc/anonymize.md), into PostgreSQL's bindir.
SCRIPTS      = bin/crm_privacy_anonymized_copy

REGRESS      = init labels labels_owner mask anon pseudonym views keys reports audit requests access admin choices comments suppression planner snapshot

# Our code builds warning-free (WERROR=1, as the test harness builds, makes every
# warning an error); PostgreSQL's own headers are
# read as system headers so that their unused parameters are not ours.
PG_CFLAGS    = -Wall -Wextra $(if $(WERROR),-Werror)
PG_CPPFLAGS  = -isystem $(includedir_server) -isystem $(includedir_internal)

EXTRA_CLEAN  = results regression.diffs regression.out

# The expected outputs are sorted as in the C locale: pg_regress makes the
# test database with --no-locale, whatever the cluster's locale.
NO_LOCALE    = 1

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
$(error pg_config was not found: run "bash test/run.sh test", which installs what is missing, or install postgresql-server-dev-NN for your server)
endif
include $(PGXS)

# PGXS passes --dbname=$(CONTRIB_TESTDB) to pg_regress, and sets it in the
# include above: name our test database after it.
CONTRIB_TESTDB = crm_privacy_regress

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control
	cat $(SQL_SOURCES) > $@

.PHONY: demo test bench
demo:
	bash test/run.sh demo
test:
	bash test/run.sh test
bench:
	bash test/run.sh bench

# Every object depends on the headers (PGXS tracks no header dependencies).
$(OBJS): $(wildcard src/*.h)
