// A multi-call binary's verbs: `PROGRAM VERB ...`, usage listing, --version.
// keel and keel-image share it.
#pragma once

#include <span>

namespace keel::cli {

struct Verb {
    const char* name;
    int (*fn)(int, char**);
    const char* summary;
};

struct VerbTable {
    const char* program;  // "keel", "keel-image": --version and error messages
    const char* intro;    // printed between the usage line and the list
    std::span<const Verb> verbs;
};

// Runs argv[1]'s verb with (argc - 1, argv + 1); usage for none, help or unknown.
int run_verb(const VerbTable& table, int argc, char** argv);

}  // namespace keel::cli
