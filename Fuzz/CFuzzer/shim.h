/* libFuzzer's driver (compiler-rt FuzzerInterface.h), linked in by -sanitize=fuzzer, and the entry point every
   fuzz target defines with @_cdecl. */
#ifndef RELYD_CFUZZER_SHIM_H
#define RELYD_CFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);
#endif
