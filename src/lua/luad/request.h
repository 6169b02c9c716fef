// RequestParser: a keel-run request (luad/wire.h) fed in arbitrary pieces. A pure
// state machine: no sockets, bounded memory, every field validated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keel::luad {

struct RunRequest {
    uint32_t umask = 022;
    std::string cwd;  // absolute, or empty (the child starts in /)
    std::string script;
    std::vector<std::string> args;
    std::vector<std::string> env;  // "NAME=value"
};

// Encodes a request (the client's side; tests and the fuzzer's seeds use it).
std::string encode_request(const RunRequest& r);

class RequestParser {
  public:
    enum class State { kNeedMore, kDone, kError };

    // `max_size`: the largest body accepted (checked before it is read).
    explicit RequestParser(size_t max_size) : max_(max_size) {}

    // Consumes bytes of the request and returns how many it used; bytes after a
    // complete request are not consumed. Does nothing once done or failed.
    size_t feed(std::string_view data);

    State state() const { return state_; }
    // How many more bytes the current part (header, then body) needs: a reader of a
    // stream socket asks for exactly this much, so that it never takes the bytes
    // that follow the request. 0 once done or failed.
    size_t wanted() const;
    // Why the request was refused (kError).
    const std::string& error() const { return error_; }
    // The request (kDone); may be moved from.
    RunRequest& request() { return req_; }

  private:
    void decode();
    void fail(std::string why);

    size_t max_;
    State state_ = State::kNeedMore;
    std::string buf_;  // header, then body
    size_t body_len_ = 0;
    bool have_header_ = false;
    std::string error_;
    RunRequest req_;
};

}  // namespace keel::luad
