// Storage URLs: the accepted forms, and passwords kept out of what Lepton prints.
#include "store/storage_url.hpp"

#include <catch2/catch.hpp>

using namespace lepton::engine;

TEST_CASE("storage URLs name their back end and passwords never reach the output", "[store]") {
  CHECK(parse_storage_url("sqlite:///a.db").location == "a.db");
  CHECK(parse_storage_url("sqlite:////abs/a.db").location == "/abs/a.db");
  CHECK(parse_storage_url("postgresql://u@h/db").backend == StorageUrl::Backend::kPostgres);
  CHECK_THROWS_WITH(parse_storage_url("mysql://h/db", "--storage"), Catch::Contains("--storage: unsupported storage URL"));
  CHECK(redact_password("postgresql://lepton:s3cr3t@db.example:5432/studies") ==
        "postgresql://lepton:***@db.example:5432/studies");
  CHECK(redact_password("postgresql://lepton@db/studies") == "postgresql://lepton@db/studies");
  CHECK(redact_password("postgresql:///studies?host=/tmp/x&user=u") == "postgresql:///studies?host=/tmp/x&user=u");
  CHECK(redact_password("sqlite:///a.db") == "sqlite:///a.db");
}
