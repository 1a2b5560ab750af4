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
#   make console    the admin console (examples/openresty) in nginx on the fake service;
#                   prints the URL and the token, Ctrl-C stops it
#   make docs       the API reference in docs/ (LDoc, config.ld); fails on any LDoc warning
#   make dist       build/dist/lua-acmpca-<version>.tar.gz, the archive the versioned
#                   rockspec's source.url names (git archive of HEAD), and its .src.rock

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror=implicit-function-declaration
BASE      = -std=gnu11 -fPIC -fvisibility=hidden $(WARN)
LIBS      = -lcurl -lcrypto -lexpat -lpthread
LUA54_INC ?= /usr/include/lua5.4
JIT_INC   ?= /usr/include/luajit-2.1
SAN       = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g

SRC  = $(wildcard src/*.c)
HDR  = $(wildcard src/*.h)

.PHONY: all asan check console ctest demo deps dist docs bench lint model valgrind clean

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

check: deps all asan build/sigv4_test build/asan/sigv4_test fuzz-build
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

console: all
	sh tools/console.sh

# The release: tools/dist.sh says what goes in; spec/run.sh installs it
# (tools/rock_check.sh, spec/integration/rock_nginx_spec.lua).
dist:
	sh tools/dist.sh build/dist

# The API reference: LDoc over the doc comments (config.ld says which files)
# into docs/, committed; spec/run.sh runs `tools/docs.sh` (check mode), which
# fails on any warning or when docs/ differs from a fresh build.
docs: build/5.4/acmpca/core.so
	sh tools/docs.sh build

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
	lua5.4 bench/xml.lua
	luajit bench/xml.lua
	lua5.4 bench/credentials.lua
	luajit bench/credentials.lua

# The specs under memcheck (spec/run.sh does this too, as one of its runs).
valgrind: all
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    lua5.4 /usr/bin/busted -o plainTerminal --lpath='lua/?.lua;lua/?/init.lua;spec/?.lua' \
	    --cpath='build/5.4/?.so' --exclude-tags=nginx,noasan spec

clean:
	rm -rf build

# ------------------------------------------------------------------ fuzzing
#
#   make fuzz         each libFuzzer target for FUZZ_TIME seconds (default 60)
#                     on a scratch copy of its seeds (build/fuzz/corpus/)
#   make fuzz-smoke   each target for FUZZ_SMOKE_TIME seconds (default 20);
#                     fails on any finding (spec/run.sh runs it too)
#   make fuzz-build   the targets only: build/fuzz/<target>
#
# FUZZ_TARGETS="sigv4 headers" narrows either run.  fuzz/README.md says
# what each target covers and how to replay a crash.
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 20
FUZZ_TARGETS    ?= response headers endpoint sigv4 validate xml
LUA54_LIB       ?= -llua5.4
FUZZ_FLAGS       = -std=gnu11 $(WARN) -g -O1 -fno-omit-frame-pointer \
                   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                   -Isrc -I$(LUA54_INC)
FUZZ_BINS        = $(FUZZ_TARGETS:%=build/fuzz/%)

.PHONY: fuzz fuzz-smoke fuzz-build

fuzz-build: $(FUZZ_BINS)

# The two Lua-facing targets link the whole module and Lua 5.4 (lua-cjson
# is loaded from the system, as in production).
build/fuzz/response: fuzz/response.c fuzz/lua_harness.h $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/response.c $(SRC) $(LUA54_LIB) $(LIBS) -lm

build/fuzz/validate: fuzz/validate.c fuzz/lua_harness.h $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/validate.c $(SRC) $(LUA54_LIB) $(LIBS) -lm

# fuzz/headers.c includes src/http.c to reach its static callbacks.
build/fuzz/headers: fuzz/headers.c src/http.c src/strbuf.c src/http.h src/strbuf.h src/str.h Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/headers.c src/strbuf.c -lcurl

build/fuzz/endpoint: fuzz/endpoint.c src/endpoint.c src/arn.c $(SIGNER) src/endpoint.h src/arn.h $(SIGNER_HDR) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/endpoint.c src/endpoint.c src/arn.c $(SIGNER) $(LUA54_LIB) $(CLIBS)

build/fuzz/sigv4: fuzz/sigv4.c $(SIGNER) $(SIGNER_HDR) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/sigv4.c $(SIGNER) $(CLIBS)

# The XML reader alone (no Lua), over the system's libexpat.
build/fuzz/xml: fuzz/xml.c src/xml.c src/xml.h src/visibility.h Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/xml.c src/xml.c -lexpat

fuzz: $(FUZZ_BINS)
	FUZZ_MODE=fuzz sh fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	sh fuzz/run.sh $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)
