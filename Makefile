# lua-acmpca: build acmpca.core for Lua 5.4 and LuaJIT 2.1 from one source,
# plus a sanitizer build for the specs.
#
#   make            both variants: build/5.4/acmpca/core.so, build/jit/acmpca/core.so
#   make check      install what is missing (apt), build, lint, run every suite
#   make demo       install what is missing, build, run the main job on the fake service
#   make asan       build/asan/acmpca/core.so (Lua 5.4, AddressSanitizer + UBSan)
#   make bench      the benchmarks under bench/
#   make valgrind   the specs under valgrind's memcheck (leaks included)
#   make model      regenerate src/model_gen.c from spec/fixtures/acm-pca-model
#   make ctest      the pure-C signer against the SigV4 suites (plain and ASan builds)

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror=implicit-function-declaration
BASE      = -std=gnu11 -fPIC -fvisibility=hidden $(WARN)
LIBS      = -lcurl -lcrypto -lpthread
LUA54_INC ?= /usr/include/lua5.4
JIT_INC   ?= /usr/include/luajit-2.1
SAN       = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g

SRC  = $(wildcard src/*.c)
HDR  = $(wildcard src/*.h)

.PHONY: all asan check ctest demo deps bench lint model valgrind clean

all: build/5.4/acmpca/core.so build/jit/acmpca/core.so

build/5.4/acmpca/core.so: $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -I$(LUA54_INC) -shared -o $@ $(SRC) $(LIBS)

build/jit/acmpca/core.so: $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -I$(JIT_INC) -shared -o $@ $(SRC) $(LIBS)

asan: build/asan/acmpca/core.so

build/asan/acmpca/core.so: $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(CC) $(BASE) $(SAN) -I$(LUA54_INC) -shared -o $@ $(SRC) $(LIBS)

deps:
	@sh .ci/deps

check: deps all asan build/sigv4_test build/asan/sigv4_test
	@sh spec/run.sh

# The signer without Lua: spec/c/sigv4_test.c links only the signer, the
# crypto layer and OpenSSL (spec/run.sh runs both builds as well).
SIGNER     = src/sigv4.c src/crypto.c
SIGNER_HDR = src/sigv4.h src/crypto.h src/visibility.h
CLIBS      = -lcrypto -lpthread

build/sigv4_test: spec/c/sigv4_test.c $(SIGNER) $(SIGNER_HDR) Makefile
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) -Isrc -o $@ spec/c/sigv4_test.c $(SIGNER) $(CLIBS)

build/asan/sigv4_test: spec/c/sigv4_test.c $(SIGNER) $(SIGNER_HDR) Makefile
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SAN) -Isrc -o $@ spec/c/sigv4_test.c $(SIGNER) $(CLIBS)

ctest: build/sigv4_test build/asan/sigv4_test
	build/sigv4_test
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/asan/sigv4_test

# The pure-C signer's own rate, for bench/sign.lua to print beside its own.
build/sign_c: bench/sign_c.c $(SIGNER) $(SIGNER_HDR) Makefile
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) -Isrc -o $@ bench/sign_c.c $(SIGNER) $(CLIBS)

demo: deps all
	lua5.4 examples/ensure_renewal.lua --mock

lint:
	luacheck lua spec examples bench bin tools

# The operation model: src/model_gen.c from the service's published model
# (tools/gen_model.lua; spec/model_spec.lua checks the committed file).
model:
	lua5.4 tools/gen_model.lua spec/fixtures/acm-pca-model > src/model_gen.c.tmp
	mv src/model_gen.c.tmp src/model_gen.c

bench: all build/sign_c
	build/sign_c
	lua5.4 bench/sign.lua
	luajit bench/sign.lua
	lua5.4 bench/client.lua
	luajit bench/client.lua
	lua5.4 bench/fleet.lua

# The specs under memcheck (spec/run.sh does this too, as one of its runs).
valgrind: all
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    lua5.4 /usr/bin/busted -o plainTerminal --lpath='lua/?.lua;lua/?/init.lua;spec/?.lua' \
	    --cpath='build/5.4/?.so' --exclude-tags=nginx,noasan spec

clean:
	rm -rf build
