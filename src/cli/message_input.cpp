#include "cli/message_input.h"

#include "base/sys.h"
#include "cli/message_format.h"

namespace keel::cli {

void MessageInput::add_to(Args& args, const std::string& data_help) {
    args.positional("DATA", data_help, &data, false, &have_data_);
    args.list_option("header", 'H', "KEY:VALUE", "add a header (repeatable)", &header_args_);
}

Status MessageInput::finish() {
    for (const auto& h : header_args_)
        if (!add_header_arg(headers, h)) return Error("bad header '" + h + "' (want KEY:VALUE)");
    if (!have_data_) {
        auto in = sys::read_all(0);
        if (!in) return Error("cannot read standard input: " + in.error().message());
        data = std::move(in).value();
    }
    return {};
}

}  // namespace keel::cli
