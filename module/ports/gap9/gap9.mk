# GAP9 SDK (PMSIS) make fragment: the tinytx kernels (riscv variant) and this port.
# NOT USED IN CI. In an application Makefile, before including pmsis_rules.mk:
#   TINYTX_DIR = <path to this repository>
#   include $(TINYTX_DIR)/module/ports/gap9/gap9.mk
# The riscv kernels compile their XpulpV2 inner loops because the GAP9 GCC defines
# __pulp__ for -march=rv32imcxgap9 (the SDK's default); see docs/gap9.md.
TINYTX_KERNELS_DIR := $(TINYTX_DIR)/kernels
# Every kernel (and scratch-size) file of the reference set, the riscv file of the same
# name where there is one: the rule of kernels/sources.cmake.
TINYTX_KERNEL_FILES := $(notdir $(wildcard $(TINYTX_KERNELS_DIR)/src/ref/*.c))
TINYTX_KERNEL_SRCS := $(foreach f,$(TINYTX_KERNEL_FILES),$(if \
  $(wildcard $(TINYTX_KERNELS_DIR)/src/riscv/$(f)),$(TINYTX_KERNELS_DIR)/src/riscv/$(f),\
  $(TINYTX_KERNELS_DIR)/src/ref/$(f)))

APP_SRCS += $(TINYTX_KERNEL_SRCS)
APP_SRCS += $(TINYTX_DIR)/module/ports/gap9/src/tinytx_port_gap9.c
APP_INC += $(TINYTX_KERNELS_DIR)/include $(TINYTX_DIR)/module/ports/gap9/include
APP_CFLAGS += -O3 -DTINYTX_GAP9_PERF=1
