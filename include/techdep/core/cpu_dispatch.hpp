#pragma once
// Hot kernels compiled for AVX-512, AVX2 and baseline x86-64 and picked when the program is
// loaded (GCC's target_clones, an ifunc). Not under AddressSanitizer or ThreadSanitizer: the
// resolvers run before the sanitizer's runtime is set up, and an instrumented one crashes the
// program at load.

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define TECHDEP_TARGET_CLONES [[gnu::target_clones("avx512f", "avx2", "default")]]
#define TECHDEP_SANITIZED 0
#else
#define TECHDEP_TARGET_CLONES
#define TECHDEP_SANITIZED 1
#endif
