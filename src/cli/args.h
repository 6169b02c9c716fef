// Args: command-line options for one verb, with generated --help. Options take
// "--name VALUE" or "--name=VALUE"; sizes accept K/M/G (KiB...) suffixes and
// durations ms/s/m/h suffixes (bare numbers are seconds).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace keel::cli {

// Exit codes shared by every verb (DESIGN.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;
inline constexpr int kExitUsage = 100;
inline constexpr int kExitTemporary = 111;

class Args {
  public:
    // `usage` is the synopsis after the verb, e.g. "SUBJECT [DATA]".
    Args(std::string verb, std::string usage, std::string summary);

    void flag(const std::string& name, char short_name, const std::string& help, bool* out);
    void option(const std::string& name, char short_name, const std::string& metavar,
                const std::string& help, std::string* out);
    void option(const std::string& name, char short_name, const std::string& metavar,
                const std::string& help, int64_t* out);
    void option(const std::string& name, char short_name, const std::string& metavar,
                const std::string& help, double* out);
    void size_option(const std::string& name, const std::string& help, int64_t* out);
    void duration_option(const std::string& name, const std::string& help,
                         std::chrono::nanoseconds* out);
    void list_option(const std::string& name, char short_name, const std::string& metavar,
                     const std::string& help, std::vector<std::string>* out);
    // `given` (optional) tells an absent argument from an empty one.
    void positional(const std::string& name, const std::string& help, std::string* out,
                    bool required, bool* given = nullptr);
    void epilog(const std::string& text) { epilog_ = text; }

    // Returns an exit code to stop with (after --help or a usage error), or nothing to go on.
    std::optional<int> parse(int argc, char** argv);
    std::string help() const;
    // Prints "keel VERB: MESSAGE" and returns kExitUsage.
    int usage_error(const std::string& message) const;

  private:
    struct Opt {
        std::string name;
        char short_name;
        std::string metavar, help;
        bool takes_value;
        std::function<bool(const std::string&)> set;  // false: bad value
    };
    struct Pos {
        std::string name, help;
        std::string* out;
        bool required;
        bool* given;
    };
    const Opt* find(const std::string& name) const;
    const Opt* find_short(char c) const;

    std::string verb_, usage_, summary_, epilog_;
    std::vector<Opt> opts_;
    std::vector<Pos> pos_;
};

}  // namespace keel::cli
