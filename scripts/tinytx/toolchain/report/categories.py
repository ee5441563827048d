"""Which category a byte of firmware belongs to.

Categories (JSON keys, in report order):

========================  ===============================================================
``model_weights``         the model's constant tensors: any input or output section whose
                          name contains ``tinytx_weights`` (the code generators place every
                          weight array in ``.rodata.tinytx_weights``), or a symbol whose name
                          contains ``tinytx_weights``
``arena``                 the activation arena: a section whose name contains
                          ``tinytx_arena`` (``.bss.tinytx_arena``, ``.noinit.tinytx_arena``)
                          or a symbol whose name contains ``tinytx_arena``
``kernel_code``           the kernel library: input sections of objects from the
                          ``tinytx_kernels`` library or from ``kernels/`` (map file); without
                          a map, symbols whose name starts with ``tinytx_``
``tinytx_code``           other tinytx code: the runtime ports and generated model code
                          (objects under ``module/ports/``, objects named ``tinytx_port*`` or
                          ``tinytx_model*``; without a map, symbols ``tinytx_port_*`` and
                          ``tinytx_model_*``)
``stacks``                stacks: sections named ``.stack*``/``.stacks``/``*.noinit*stack*``
                          and stack objects of RTOSes (``z_main_stack``, ``z_interrupt_stacks``,
                          ``z_idle_stacks``, ``*_stack_area``, ``*thread_stack*``)
``libc_rtos``             C library, compiler runtime and RTOS: objects of libc, libm,
                          libgcc, picolibc/newlib, crt0/crtbegin/crtend, semihosting, and
                          Zephyr's libraries (``libzephyr.a``, ``libkernel.a``, ``libarch__*``,
                          ``libsoc__*``, ``libdrivers__*``, ...); without a map, reserved
                          identifiers (``__*``, ``_`` + capital) and standard C function names
``other``                 everything else: the application, its data, linker padding
========================  ===============================================================

Precedence, highest first: the arena/stack/port rules on symbol names, the rules on the
input section (name and object file, from the map file), the name-only guesses (no map
only), the rules on the output section name, then ``other``.
"""

from __future__ import annotations

import re

CATEGORIES = (
    "model_weights",
    "arena",
    "kernel_code",
    "tinytx_code",
    "stacks",
    "libc_rtos",
    "other",
)
LABELS = {
    "model_weights": "model weights",
    "arena": "activation arena",
    "kernel_code": "kernel code",
    "tinytx_code": "other tinytx code",
    "stacks": "stacks",
    "libc_rtos": "libc/RTOS",
    "other": "other",
}

RE_STACK_SECTION = re.compile(r"^\.(stack|stacks|heap_stack)\b|noinit.*stack|\.stack_dummy")
RE_STACK_SYMBOL = re.compile(
    r"^(z_main_stack|z_interrupt_stacks|z_idle_stacks|_interrupt_stack\w*|__stack_area)$"
    r"|_stack_area$|thread_stack|^_k_thread_stack_|_stacks?$"
)
LIBC_OBJECT = re.compile(
    r"(^|[/\\])(libc|libc_nano|libg|libg_nano|libm|libgcc|libsemihost|libnosys|librdimon"
    r"|libstdc\+\+|libsupc\+\+|libatomic|libzephyr|libkernel|libos|libposix"
    r"|libarch__\w*|libsoc__\w*|libdrivers__\w*|libsubsys__\w*|liblib__\w*|libboards__\w*"
    r"|libisr_tables|libmodules__cmsis\w*|libmodules__hal\w*|libcmsis\w*)\.a\("
    r"|(^|[/\\])crt0[\w-]*\.o$|(^|[/\\])crt[inbe]\w*\.o$|[/\\]picolibc[/\\]|[/\\]newlib[/\\]"
    r"|[/\\]zephyr[/\\](kernel|arch|soc|drivers|lib|subsys)[/\\]"
)
PORT_OBJECT = re.compile(
    r"[/\\]module[/\\]ports[/\\]|(^|[/\\(])tinytx_(port|model)\w*\.(c\.)?o(bj)?\)?$"
    r"|libtinytx_port\.a\("
)
KERNEL_OBJECT = re.compile(
    r"libtinytx_kernels\.a\(|tinytx_kernels\.dir|[/\\]kernels[/\\]src[/\\]"
    r"|libtinytx\.a\(tinytx_\w+\.c\.o(bj)?\)"
)
LIBC_NAMES = frozenset(
    "memcpy memmove memset memcmp memchr strlen strnlen strcmp strncmp strcpy strncpy strchr"
    " strrchr strstr strtol strtoul atoi printf vprintf fprintf vfprintf sprintf snprintf"
    " vsnprintf puts fputs putchar fputc putc getc fgetc fopen fclose fread fwrite fflush"
    " malloc free calloc realloc abort exit _exit atexit errno stdin stdout stderr"
    " __libc_init_array __libc_fini_array _start main_stack".split()
)


def _weights_or_arena(name: str) -> str | None:
    if "tinytx_weights" in name:
        return "model_weights"
    if "tinytx_arena" in name:
        return "arena"
    return None


def output_section_category(name: str) -> str | None:
    """Rule on an output section (ELF section) name."""
    found = _weights_or_arena(name)
    if found:
        return found
    if RE_STACK_SECTION.search(name):
        return "stacks"
    return None


def input_section_category(name: str, origin: str | None) -> str | None:
    """Rule on an input section of the map file: its name, then its object file."""
    found = _weights_or_arena(name)
    if found:
        return found
    if RE_STACK_SECTION.search(name):
        return "stacks"
    if not origin:
        return None
    if PORT_OBJECT.search(origin):
        return "tinytx_code"
    if KERNEL_OBJECT.search(origin):
        return "kernel_code"
    if LIBC_OBJECT.search(origin):
        return "libc_rtos"
    return None


def strong_symbol_category(name: str, kind: str) -> str | None:
    """Symbol rules that hold whatever object the symbol comes from."""
    found = _weights_or_arena(name)
    if found:
        return found
    if kind == "object" and RE_STACK_SYMBOL.search(name):
        return "stacks"
    if name.startswith(("tinytx_port_", "tinytx_model_")):
        return "tinytx_code"
    return None


def weak_symbol_category(name: str, kind: str) -> str | None:
    """Name-only guesses, used when no map file tells which object a symbol came from."""
    if name.startswith("tinytx_"):
        return "kernel_code"
    if name in LIBC_NAMES or name.startswith("__") or re.match(r"_[A-Z]", name):
        return "libc_rtos"
    if name.startswith(("z_", "k_", "arch_", "sys_", "_k_", "_sw_isr", "_irq_")):
        return "libc_rtos"
    return None
