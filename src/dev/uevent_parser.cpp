#include "dev/uevent_parser.h"

#include <string>

namespace keel::dev {

namespace {

Error bad(const std::string& what, size_t offset) {
    return Error("bad uevent at byte " + std::to_string(offset) + ": " + what);
}

bool parse_u64(std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
        if (next / 10 != v) return false;
        v = next;
    }
    *out = v;
    return true;
}

// Values are arbitrary bytes except NUL and newline (a newline would let a value
// forge an extra line when the event is written out as KEY=VALUE text).
bool valid_value(std::string_view v) {
    return v.find('\n') == std::string_view::npos;
}

bool has_key(const std::vector<Field>& env, size_t upto, std::string_view key) {
    for (size_t i = 0; i < upto; ++i)
        if (env[i].first == key) return true;
    return false;
}

}  // namespace

std::string_view UeventView::get(std::string_view key) const {
    for (const auto& [k, v] : env)
        if (k == key) return v;
    return {};
}

bool known_action(std::string_view a) {
    return a == "add" || a == "remove" || a == "change" || a == "move" || a == "online" ||
           a == "offline" || a == "bind" || a == "unbind";
}

bool valid_key(std::string_view key) {
    if (key.empty() || key.size() > 64) return false;
    for (char c : key) {
        bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

bool safe_devpath(std::string_view p) {
    if (p.size() < 2 || p[0] != '/' || p.size() > 4000) return false;
    size_t i = 1;
    while (i <= p.size()) {
        size_t end = p.find('/', i);
        if (end == std::string_view::npos) end = p.size();
        std::string_view part = p.substr(i, end - i);
        if (part.empty() || part == "." || part == "..") return false;
        for (char c : part)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
        i = end + 1;
    }
    return true;
}

Status parse_uevent(std::string_view buf, UeventView* out) {
    out->env.clear();
    out->action = out->devpath = out->subsystem = {};
    out->seqnum = 0;
    if (buf.empty()) return bad("empty message", 0);
    if (buf.size() > kMaxUeventBytes)
        return bad("message of " + std::to_string(buf.size()) + " bytes exceeds " +
                       std::to_string(kMaxUeventBytes),
                   kMaxUeventBytes);
    if (buf.back() != '\0') return bad("last field is not NUL-terminated (truncated?)", buf.size());

    size_t header_end = buf.find('\0');
    std::string_view header = buf.substr(0, header_end);
    size_t at = header.find('@');
    if (at == std::string_view::npos) return bad("header has no '@' (not a kernel uevent)", 0);
    std::string_view h_action = header.substr(0, at), h_devpath = header.substr(at + 1);

    bool have_seqnum = false;
    size_t pos = header_end + 1;
    while (pos < buf.size()) {
        size_t end = buf.find('\0', pos);  // never npos: the buffer ends with NUL
        std::string_view field = buf.substr(pos, end - pos);
        if (field.empty()) return bad("empty field", pos);
        if (have_seqnum) return bad("field after SEQNUM", pos);
        size_t eq = field.find('=');
        if (eq == std::string_view::npos) return bad("field without '='", pos);
        std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
        if (!valid_key(key)) return bad("invalid key", pos);
        if (!valid_value(value)) return bad("newline in the value of " + std::string(key), pos);
        if (out->env.size() >= kMaxUeventFields) return bad("too many fields", pos);
        if (has_key(out->env, out->env.size(), key))
            return bad("duplicate " + std::string(key), pos);
        if (key == "ACTION") {
            out->action = value;
        } else if (key == "DEVPATH") {
            out->devpath = value;
        } else if (key == "SUBSYSTEM") {
            out->subsystem = value;
        } else if (key == "SEQNUM") {
            if (!parse_u64(value, &out->seqnum)) return bad("SEQNUM is not a number", pos);
            have_seqnum = true;
        }
        out->env.emplace_back(key, value);
        pos = end + 1;
    }
    if (!have_seqnum) return bad("no SEQNUM (truncated?)", buf.size());
    if (out->action.empty()) return bad("no ACTION", buf.size());
    if (out->devpath.empty()) return bad("no DEVPATH", buf.size());
    if (out->subsystem.empty()) return bad("no SUBSYSTEM", buf.size());
    if (out->action != h_action || out->devpath != h_devpath)
        return bad("header does not match ACTION and DEVPATH", 0);
    if (!known_action(out->action)) return bad("unknown action", 0);
    if (!safe_devpath(out->devpath)) return bad("unsafe DEVPATH", 0);
    return {};
}

Status parse_uevent_file(std::string_view text, std::vector<Field>* out) {
    if (text.size() > kMaxUeventBytes) return bad("uevent file too large", kMaxUeventBytes);
    size_t pos = 0, first = out->size();
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty()) {
            size_t eq = line.find('=');
            if (eq == std::string_view::npos) return bad("line without '='", pos);
            std::string_view key = line.substr(0, eq);
            if (!valid_key(key)) return bad("invalid key", pos);
            if (line.find('\0') != std::string_view::npos) return bad("NUL in a line", pos);
            if (out->size() - first >= kMaxUeventFields) return bad("too many lines", pos);
            out->emplace_back(key, line.substr(eq + 1));
        }
        pos = end + 1;
    }
    return {};
}

}  // namespace keel::dev
