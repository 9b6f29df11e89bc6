// Catch2's main, shared by the test executables, and a check of the suite itself.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// catch_discover_tests hands test names to CTest through CMake lists: a ';' splits one test case into
// two CTest tests whose names match no test case, so both pass without running anything.
TEST_CASE("test case names hold no semicolon", "[tests]") {
  for (const auto& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    INFO(test.name);
    CHECK(test.name.find(';') == std::string::npos);
  }
}
