// libFuzzer's entry point for programs that keep their own main (compiler-rt's FuzzerDriver).
// Linked from libclang_rt.fuzzer when the fuzz targets are built with -sanitize=fuzzer.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
