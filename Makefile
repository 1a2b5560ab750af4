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

.PHONY: all asan check demo deps bench lint model valgrind clean

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

check: deps all asan
	@sh spec/run.sh

demo: deps all
	lua5.4 examples/ensure_renewal.lua --mock

lint:
	luacheck lua spec examples bench bin tools

# The operation model: src/model_gen.c from the service's published model
# (tools/gen_model.lua; spec/model_spec.lua checks the committed file).
model:
	lua5.4 tools/gen_model.lua spec/fixtures/acm-pca-model > src/model_gen.c.tmp
	mv src/model_gen.c.tmp src/model_gen.c

bench: all
	lua5.4 bench/sign.lua
	luajit bench/sign.lua
	lua5.4 bench/client.lua
	luajit bench/client.lua

# The specs under memcheck (spec/run.sh does this too, as one of its runs).
valgrind: all
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    lua5.4 /usr/bin/busted -o plainTerminal --lpath='lua/?.lua;lua/?/init.lua;spec/?.lua' \
	    --cpath='build/5.4/?.so' --exclude-tags=nginx,noasan spec

clean:
	rm -rf build
