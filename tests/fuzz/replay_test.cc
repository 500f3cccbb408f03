// Replays every seed input (tests/fuzz/corpus/<target>/) and every input
// that once broke a fuzz target (tests/fuzz/regressions/<target>/) through
// the fuzz targets' own entry points, in every build (plain, sanitized),
// without libFuzzer. A regression that comes back aborts this test with the
// failed check and the file named just before it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_support.h"

namespace ccr::fuzz {
namespace {

namespace fs = std::filesystem;

using Target = int (*)(const uint8_t*, size_t);

// The files of tests/fuzz/<kind>/<target>/, sorted; none when it is absent.
std::vector<fs::path> Inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(CCR_FUZZ_DIR) / kind / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `fn` on each file; the number run.
size_t Replay(Target fn, const std::vector<fs::path>& files) {
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    std::fprintf(stderr, "replaying %s\n", file.c_str());
    EXPECT_EQ(fn(reinterpret_cast<const uint8_t*>(data.data()), data.size()), 0) << file;
  }
  return files.size();
}

struct Case {
  const char* name;
  Target fn;
};

class FuzzReplay : public ::testing::TestWithParam<Case> {};

TEST_P(FuzzReplay, SeedCorpusRunsClean) {
  EXPECT_GE(Replay(GetParam().fn, Inputs("corpus", GetParam().name)), 2u)
      << "tests/fuzz/corpus/" << GetParam().name << " should hold real examples";
}

TEST_P(FuzzReplay, RegressionsStayFixed) {
  Replay(GetParam().fn, Inputs("regressions", GetParam().name));
}

TEST_P(FuzzReplay, EmptyAndTinyInputsAreHarmless) {
  for (const std::string& s : {std::string(), std::string(1, '\0'), std::string(1, '\xff'),
                               std::string("CCRJNL01"), std::string("CCRSNP01")}) {
    EXPECT_EQ(GetParam().fn(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay,
                         ::testing::Values(Case{"request", &FuzzRequest},
                                           Case{"config", &FuzzConfig},
                                           Case{"journal", &FuzzJournal},
                                           Case{"snapshot", &FuzzSnapshot}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ccr::fuzz
