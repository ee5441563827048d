# GAP9 SDK (PMSIS) make fragment: the tinytx kernels (riscv variant) and this port.
# NOT USED IN CI. In an application Makefile, before including pmsis_rules.mk:
#   TINYTX_DIR = <path to this repository>
#   include $(TINYTX_DIR)/module/ports/gap9/gap9.mk
# The riscv kernels compile their XpulpV2 inner loops because the GAP9 GCC defines
# __pulp__ for -march=rv32imcxgap9 (the SDK's default); see docs/gap9.md.
TINYTX_KERNELS_DIR := $(TINYTX_DIR)/kernels
TINYTX_KERNEL_NAMES := add av fwsa gelu layernorm linear lut mhsa mhsa_dft qk_softmax
TINYTX_KERNEL_SRCS := $(foreach k,$(TINYTX_KERNEL_NAMES),$(TINYTX_KERNELS_DIR)/src/riscv/tinytx_$(k)_s8.c)
# the kernels without a riscv file come from the reference set
TINYTX_REF_ONLY := $(filter-out $(notdir $(TINYTX_KERNEL_SRCS)),$(notdir $(wildcard $(TINYTX_KERNELS_DIR)/src/ref/*.c)))

APP_SRCS += $(TINYTX_KERNEL_SRCS) $(addprefix $(TINYTX_KERNELS_DIR)/src/ref/,$(TINYTX_REF_ONLY))
APP_SRCS += $(TINYTX_DIR)/module/ports/gap9/src/tinytx_port_gap9.c
APP_INC += $(TINYTX_KERNELS_DIR)/include $(TINYTX_DIR)/module/ports/gap9/include
APP_CFLAGS += -O3 -DTINYTX_GAP9_PERF=1
