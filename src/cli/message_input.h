// MessageInput: what a sending verb (pub, req) takes besides the subject — the body
// as DATA or standard input, and repeatable --header KEY:VALUE.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "bus/protocol/headers.h"
#include "cli/args.h"

namespace keel::cli {

struct MessageInput {
    std::string data;
    bus::Headers headers;

    // Registers the DATA argument and --header; call after the SUBJECT positional.
    void add_to(Args& args, const std::string& data_help);
    // After parsing: reads standard input when DATA was absent, parses the headers.
    // The error is a usage message.
    Status finish();
    const bus::Headers* headers_or_null() const { return headers.empty() ? nullptr : &headers; }

  private:
    bool have_data_ = false;
    std::vector<std::string> header_args_;
};

}  // namespace keel::cli
