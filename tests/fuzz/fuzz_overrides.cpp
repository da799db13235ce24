// libFuzzer target: arbitrary `--set` arguments, one per line of the input, applied to the
// two-country world of the command-line tests (tools/fuzz.sh).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = techdep::fuzz::check_override_input(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz property broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
