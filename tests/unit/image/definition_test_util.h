// Helpers for the definition tests: a temporary directory holding system.lua
// and its sibling files, evaluated with the repository's lua/ DSL.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/source_tree.h"

#include "image/definition.h"

namespace keel::image::test {

inline std::string source_dir() {
    return keel::source_file("");
}

inline DefinitionOptions dsl_options() {
    DefinitionOptions o;
    o.lua_dir = source_dir() + "/lua";
    return o;
}

class DefinitionDir {
  public:
    DefinitionDir() {
        char tmpl[] = "/tmp/keel-dsl-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    ~DefinitionDir() { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) const {
        std::string path = dir_ + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    Result<Plan> eval(const std::string& text, const DefinitionOptions& o = dsl_options()) const {
        return evaluate_definition(write("system.lua", text), o);
    }
    // The error evaluating `text` gives ("" when it succeeds).
    std::string error(const std::string& text, const DefinitionOptions& o = dsl_options()) const {
        auto plan = eval(text, o);
        return plan ? std::string() : plan.error().message();
    }
    const std::string& path() const { return dir_; }

  private:
    std::string dir_;
};

}  // namespace keel::image::test
