// libFuzzer's driver entry (compiler-rt, LLVM 12 and later): a program with its own main calls it
// to run the fuzzer over a callback. The fuzz targets need it because SwiftPM names an
// executable's entry point itself (main=<Target>_main), which leaves no room for libFuzzer's main.
// Only fuzz builds (-sanitize=fuzzer, which links compiler-rt's libFuzzer) reference it.
#ifndef READMIT_CLIBFUZZER_H
#define READMIT_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
