// The process log: sinks, level and file errors, and the rate-limited form
// packet-triggered messages use. Needs spdlog, not the EAL.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "log.h"

namespace {

using namespace triage::telemetry;

std::string temp_path(const char* name) {
    return std::string(::testing::TempDir()) + "triage-log-" + std::to_string(getpid()) + "-" +
           name;
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(Log, FileSinkUsesTheConsolePatternAndLevel) {
    const std::string path = temp_path("file.log");
    std::remove(path.c_str());
    LogOptions o;
    o.console = false;
    o.file = path;
    o.level = "info";
    configure_logging(o);
    spdlog::debug("hidden {}", 1);
    spdlog::info("in: rx {}pps", 5);
    const std::string text = slurp(path);
    EXPECT_TRUE(std::regex_search(
        text, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info triage: in: rx 5pps\n$)")))
        << text;
    EXPECT_EQ(text.find("hidden"), std::string::npos);
    std::remove(path.c_str());
}

TEST(Log, RefusesBadLevelAndUnwritableFile) {
    LogOptions o;
    o.console = false;
    o.level = "loud";
    EXPECT_THROW(configure_logging(o), std::invalid_argument);
    o.level = "warn";
    o.file = "/nonexistent-dir/triage.log";
    try {
        configure_logging(o);
        FAIL() << "accepted an unwritable file";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(),
                     "--log-file '/nonexistent-dir/triage.log': cannot open for writing: No such "
                     "file or directory");
    }
}

TEST(Log, LimitedSaysHowManyWereSuppressed) {
    const std::string path = temp_path("limited.log");
    std::remove(path.c_str());
    LogOptions o;
    o.console = false;
    o.file = path;
    configure_logging(o);
    RateLimit rl(1, 2);  // one a second, bursts of two; hz = 1000 below
    for (int i = 0; i < 10; ++i) log_limited(rl, 0, 1000, spdlog::level::warn, "bad frame {}", i);
    log_limited(rl, 1000, 1000, spdlog::level::warn, "bad frame {}", 10);
    // A disabled level must not use up the budget.
    for (int i = 0; i < 5; ++i) log_limited(rl, 2000, 1000, spdlog::level::debug, "noise {}", i);
    log_limited(rl, 2000, 1000, spdlog::level::warn, "bad frame {}", 11);
    const std::string text = slurp(path);
    EXPECT_NE(text.find("bad frame 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("bad frame 1\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("bad frame 2"), std::string::npos) << text;
    EXPECT_NE(text.find("bad frame 10 (8 similar suppressed)\n"), std::string::npos) << text;
    EXPECT_NE(text.find("bad frame 11\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("noise"), std::string::npos) << text;
    std::remove(path.c_str());
}

}  // namespace
