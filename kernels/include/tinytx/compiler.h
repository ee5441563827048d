/*
 * tinytx compiler portability: alignment and section placement of the generated code's
 * const weights and of the activation arena, for GCC, Clang, armclang (GCC syntax), IAR
 * and Arm Compiler 5, with a C11 _Alignas fallback. Plain C99.
 *
 * Both macros are PREFIXES of a declaration (IAR's pragmas must come before it):
 *
 *   TINYTX_WEIGHTS_SECTION TINYTX_ALIGNED(4)
 *   static const int8_t w[64] = {...};
 *
 * Override either one by defining it before this header is included (a compile
 * definition), e.g. -DTINYTX_WEIGHTS_SECTION= for no section, or your toolchain's own
 * placement. -DTINYTX_WEIGHTS_SECTION_NONE / -DTINYTX_ALIGNED_NONE select the empty
 * definitions (the weights then go to the default read-only data; TINYTX_ALIGNED_NONE
 * is only safe where the compiler aligns int8 arrays to 4 bytes by itself).
 */
#ifndef TINYTX_COMPILER_H
#define TINYTX_COMPILER_H

/* _Pragma with a stringized argument (IAR's placement pragmas from a macro). */
#define TINYTX_PRAGMA(text) _Pragma(#text)

/* TINYTX_ALIGNED(n): the declared object starts at a multiple of n bytes. */
#ifndef TINYTX_ALIGNED
#if defined(TINYTX_ALIGNED_NONE)
#define TINYTX_ALIGNED(n)
#elif defined(__IAR_SYSTEMS_ICC__)
#define TINYTX_ALIGNED(n) TINYTX_PRAGMA(data_alignment=n)
#elif defined(__GNUC__) || defined(__clang__)
/* GCC, Clang and armclang (Arm Compiler 6, which defines __clang__ and __GNUC__) */
#define TINYTX_ALIGNED(n) __attribute__((aligned(n)))
#elif defined(__CC_ARM)
#define TINYTX_ALIGNED(n) __align(n)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define TINYTX_ALIGNED(n) _Alignas(n)
#else
#error "tinytx: no known alignment syntax for this compiler: define TINYTX_ALIGNED(n)"
#endif
#endif

/*
 * TINYTX_WEIGHTS_SECTION: places the const weights in the section .rodata.tinytx_weights
 * (a linker script can put them in a flash region of their own); empty where the
 * compiler has no section syntax we know, which leaves them in its read-only data.
 */
#ifndef TINYTX_WEIGHTS_SECTION
#if defined(TINYTX_WEIGHTS_SECTION_NONE)
#define TINYTX_WEIGHTS_SECTION
#elif defined(__IAR_SYSTEMS_ICC__)
#define TINYTX_WEIGHTS_SECTION _Pragma("location=\".rodata.tinytx_weights\"")
#elif defined(__APPLE__)
/* Mach-O section names are "segment,section": keep the default placement */
#define TINYTX_WEIGHTS_SECTION
#elif defined(__GNUC__) || defined(__clang__) || defined(__CC_ARM)
#define TINYTX_WEIGHTS_SECTION __attribute__((section(".rodata.tinytx_weights")))
#else
#define TINYTX_WEIGHTS_SECTION
#endif
#endif

#endif /* TINYTX_COMPILER_H */
