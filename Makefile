# tpwallet: PGXS build.  `make && make install` as root, then see README.md.
EXTENSION = tpwallet
EXTVERSION = 0.1.0
MODULE_big = tpwallet

# One C file per concern under src/; every one is part of the module.
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))

# The extension script is assembled from src/sql/*.sql in name order.
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
# Concurrency, step by step between sessions (pg_isolation_regress): specs/
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))

PG_CPPFLAGS = -I$(srcdir)/src -I/usr/include/p11-kit-1 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
# extra -D flags for a test build (scripts/test.sh: the caches bounded to a few entries)
PG_CPPFLAGS += $(TPW_DEFINES)
SHLIB_LINK = -lsecp256k1 -lcrypto -lcurl -ldl

# No LLVM bitcode: nothing here benefits from JIT inlining, and it halves build time.
override with_llvm = no

EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track header dependencies; rebuild everything when one changes.
$(OBJS): $(wildcard src/*.h src/*/*.h)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

.PHONY: demo test bench
demo:
	scripts/demo.sh
test:
	scripts/test.sh
bench:
	scripts/bench.sh
