# polyboot C code: two builds of the same sources.
#   make programs   static musl binaries for the firmware image (out/bin/)
#   make unit       host unit tests with ASan+UBSan (out/unit/)
#   make fuzz       libFuzzer targets (clang, out/fuzz/)
#   make check      headers compile alone; only vmm/kvm/ includes <linux/kvm.h>
# build.sh calls these; new .c files are picked up without editing this file.

OUT       ?= out
# One spelling of every target, however OUT was given, so the dependency
# files (-MMD) of one invocation match the rules of the next.
override OUT := $(abspath $(OUT))
MUSLCC    ?= musl-gcc
HOSTCC    ?= gcc
CLANG     ?= clang

WARNINGS  := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
             -Wshadow -Wpointer-arith -Wcast-align -Wwrite-strings -Wundef \
             -Wno-unused-parameter -Wno-missing-field-initializers -Werror
CSTD      := -std=gnu11 -D_GNU_SOURCE
# Third-party libraries unpacked by ./build.sh thirdparty (always in the
# repo's out/, whatever OUT is): cJSON (source) and inih (static library).
THIRDPARTY ?= $(CURDIR)/out/thirdparty
INCLUDES  := -Icommon -Ivmm -Iboot -I$(THIRDPARTY)/cjson -I$(THIRDPARTY)/inih
TP_SRC    := $(THIRDPARTY)/cjson/cJSON.c
TP_LIBS   := $(THIRDPARTY)/inih/libinih.a
# musl ships no kernel uapi headers: point it at Debian's linux-libc-dev.
UAPI      := $(OUT)/uapi-include

COMMON_SRC := $(wildcard common/*.c)
VMM_SRC    := $(filter-out vmm/main.c, $(wildcard vmm/*.c vmm/*/*.c))
BOOT_SRC   := $(filter-out boot/main.c, $(wildcard boot/*.c boot/*/*.c))
LIB_SRC    := $(COMMON_SRC) $(VMM_SRC) $(BOOT_SRC)
HEADERS    := $(wildcard common/*.h vmm/*.h vmm/*/*.h boot/*.h boot/*/*.h)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRC))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRC))

# --- firmware (static musl) ----------------------------------------------------
M_CFLAGS  := $(CSTD) $(WARNINGS) $(INCLUDES) -isystem $(UAPI) -Os -g0 -static \
             -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -pthread
M_LDFLAGS := -static -Wl,--gc-sections -Wl,-O1 -s -pthread
M_OBJ     := $(patsubst %.c,$(OUT)/obj-musl/%.o,$(LIB_SRC))

PROGRAMS  := $(OUT)/bin/polyvmm $(OUT)/bin/polyboot $(OUT)/bin/kvm-smoke

programs: $(PROGRAMS)

$(UAPI)/.stamp:
	@mkdir -p $(UAPI)
	@ln -sfn /usr/include/linux $(UAPI)/linux
	@ln -sfn /usr/include/asm-generic $(UAPI)/asm-generic
	@ln -sfn /usr/include/x86_64-linux-gnu/asm $(UAPI)/asm
	@touch $@

$(OUT)/obj-musl/%.o: %.c $(UAPI)/.stamp
	@mkdir -p $(dir $@)
	$(MUSLCC) $(M_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/obj-musl/thirdparty/cJSON.o: $(TP_SRC) $(UAPI)/.stamp
	@mkdir -p $(dir $@)
	$(MUSLCC) $(CSTD) -Os -static -ffunction-sections -fdata-sections -c $< -o $@

$(OUT)/lib-musl.a: $(M_OBJ) $(OUT)/obj-musl/thirdparty/cJSON.o
	@rm -f $@
	ar rcs $@ $^

$(OUT)/bin/polyvmm: $(OUT)/obj-musl/vmm/main.o $(OUT)/lib-musl.a
	@mkdir -p $(dir $@)
	$(MUSLCC) $(M_LDFLAGS) $^ $(TP_LIBS) -o $@

$(OUT)/bin/polyboot: $(OUT)/obj-musl/boot/main.o $(OUT)/lib-musl.a
	@mkdir -p $(dir $@)
	$(MUSLCC) $(M_LDFLAGS) $^ $(TP_LIBS) -o $@

# Benchmark helper (not part of the firmware image).
bench: $(OUT)/bin/bench-boot

$(OUT)/bin/bench-boot: $(OUT)/obj-musl/bench/boot-time.o
	@mkdir -p $(dir $@)
	$(MUSLCC) $(M_LDFLAGS) $^ -o $@

$(OUT)/bin/kvm-smoke: $(OUT)/obj-musl/tests/kvm/kvm-smoke.o
	@mkdir -p $(dir $@)
	$(MUSLCC) $(M_LDFLAGS) $^ -o $@

# --- host unit tests (ASan + UBSan) --------------------------------------------
H_CFLAGS  := $(CSTD) $(WARNINGS) $(INCLUDES) -Itests/unit -O1 -g \
             -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -pthread \
             -DPOLYBOOT_TEST_DATA='"$(CURDIR)/tests/data"'
H_OBJ     := $(patsubst %.c,$(OUT)/obj-host/%.o,$(LIB_SRC))

unit: $(UNIT_BIN)

$(OUT)/obj-host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(H_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/obj-host/thirdparty/cJSON.o: $(TP_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(CSTD) -O1 -g -fsanitize=address,undefined -c $< -o $@

$(OUT)/lib-host.a: $(H_OBJ) $(OUT)/obj-host/thirdparty/cJSON.o
	@rm -f $@
	ar rcs $@ $^

$(OUT)/unit/%: $(OUT)/obj-host/tests/unit/%.o $(OUT)/obj-host/tests/unit/runner.o $(OUT)/lib-host.a
	@mkdir -p $(dir $@)
	$(HOSTCC) $(H_CFLAGS) $^ $(TP_LIBS) -o $@

# --- fuzz targets (libFuzzer) --------------------------------------------------
F_CFLAGS  := $(CSTD) $(INCLUDES) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread -DPOLYBOOT_FUZZ
F_OBJ     := $(patsubst %.c,$(OUT)/obj-fuzz/%.o,$(LIB_SRC))

fuzz: $(FUZZ_BIN)

$(OUT)/obj-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(CSTD) $(INCLUDES) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -pthread -MMD -MP -c $< -o $@

$(OUT)/obj-fuzz/thirdparty/cJSON.o: $(TP_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(CSTD) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(OUT)/lib-fuzz.a: $(F_OBJ) $(OUT)/obj-fuzz/thirdparty/cJSON.o
	@rm -f $@
	ar rcs $@ $^

$(OUT)/fuzz/%: $(OUT)/obj-fuzz/tests/fuzz/%.o $(OUT)/lib-fuzz.a
	@mkdir -p $(dir $@)
	$(CLANG) $(F_CFLAGS) $^ $(TP_LIBS) -o $@

# --- hygiene -------------------------------------------------------------------
check: $(UAPI)/.stamp
	@for h in $(HEADERS); do \
		echo "#include \"$$h\"" | $(HOSTCC) $(CSTD) $(WARNINGS) -I. $(INCLUDES) -x c -fsyntax-only - || exit 1; \
	done
	@bad=$$(grep -l '<linux/kvm.h>' $(LIB_SRC) $(HEADERS) vmm/main.c 2>/dev/null | grep -v '^vmm/kvm/' || true); \
	if [ -n "$$bad" ]; then echo "only vmm/kvm/ may include <linux/kvm.h>: $$bad"; exit 1; fi
	@echo "check: headers self-contained, KVM confined to vmm/kvm/"

.PHONY: programs unit fuzz check bench
.SECONDARY:

-include $(shell find $(OUT)/obj-musl $(OUT)/obj-host $(OUT)/obj-fuzz -name '*.d' 2>/dev/null)
