// Fields: reads one JSON object of the manifest with the JSON path at hand, so every
// error names where it is ("services[2].restart: expected one of ..."), and rejects
// keys nobody asked for.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "init/manifest/service_spec.h"

namespace keel::init {

class Fields {
  public:
    // `obj` must outlive this reader.
    Fields(const nlohmann::json& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

    // The value at `key`, or null when absent; marks the key as known.
    const nlohmann::json* find(const char* key);
    std::string path(const char* key) const { return path_ + "." + key; }
    Error error(const char* key, const std::string& what) const {
        return Error(path(key) + ": " + what);
    }

    Status string(const char* key, std::string* out);
    Status boolean(const char* key, bool* out);
    Status integer(const char* key, int64_t min, int64_t max, int64_t* out);
    Status strings(const char* key, std::vector<std::string>* out);
    // "100ms", "10s", "2m", "1h" or a number of seconds.
    Status duration(const char* key, Duration* out);
    // A byte count: a number or "64KiB", "1MiB", "1G"...
    Status size(const char* key, uint64_t* out);
    // Fails naming the first key that was never asked for.
    Status finish() const;

  private:
    const nlohmann::json& obj_;
    std::string path_;
    std::set<std::string> known_;
};

}  // namespace keel::init
