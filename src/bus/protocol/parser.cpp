#include "bus/protocol/parser.h"

#include <array>
#include <cstring>

namespace keel::bus {
namespace {

struct Verb {
    std::string_view name;
    Op op;
    bool server;  // sent by clients, parsed by servers
    bool client;  // sent by servers, parsed by clients
};

// No verb is a prefix of another, so a full match is final.
constexpr Verb kVerbs[] = {
    {"CONNECT", Op::kConnect, true, false}, {"PUB", Op::kPub, true, false},
    {"HPUB", Op::kHpub, true, false},       {"SUB", Op::kSub, true, false},
    {"UNSUB", Op::kUnsub, true, false},     {"MSG", Op::kMsg, false, true},
    {"HMSG", Op::kHmsg, false, true},       {"INFO", Op::kInfo, true, true},
    {"PING", Op::kPing, true, true},        {"PONG", Op::kPong, true, true},
    {"+OK", Op::kOk, true, true},           {"-ERR", Op::kErr, true, true},
};

// Argument separators: PUB/HPUB/MSG/HMSG split on blanks; SUB and UNSUB also on
// CR and LF, as nats-server's splitArg does.
inline bool is_blank(char c) {
    return c == ' ' || c == '\t';
}
inline bool is_blank_or_eol(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

bool has_payload(Op op) {
    return op == Op::kPub || op == Op::kHpub || op == Op::kMsg || op == Op::kHmsg;
}
bool no_args(Op op) {
    return op == Op::kPing || op == Op::kPong || op == Op::kOk;
}
// CONNECT and INFO may be followed directly by their JSON.
bool needs_space(Op op) {
    return op != Op::kConnect && op != Op::kInfo;
}

// Splits on separators; returns N+1 when there are more than N fields. Runs on
// every PUB, so the separator test is inline rather than a search.
template <size_t N, typename Sep>
size_t split(std::string_view s, std::array<std::string_view, N>& out, Sep sep) {
    size_t n = 0, i = 0;
    const size_t len = s.size();
    for (;;) {
        while (i < len && sep(s[i]))
            ++i;
        if (i == len) return n;
        size_t start = i;
        while (i < len && !sep(s[i]))
            ++i;
        if (n == N) return N + 1;
        out[n++] = s.substr(start, i - start);
    }
}

}  // namespace

const char* to_string(ParseError e) {
    switch (e) {
        case ParseError::kNone:
            return "no error";
        case ParseError::kStopped:
            return "stopped";
        case ParseError::kUnknownOp:
            return "unknown protocol operation";
        case ParseError::kAuthViolation:
            return "command before CONNECT";
        case ParseError::kMaxControlLine:
            return "maximum control line exceeded";
        case ParseError::kMaxPayload:
            return "maximum payload exceeded";
        case ParseError::kBadArguments:
            return "malformed arguments";
    }
    return "?";
}

int64_t parse_size(std::string_view d) {
    if (d.empty() || d.size() > 9) return -1;
    int64_t n = 0;
    for (char c : d) {
        if (c < '0' || c > '9') return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

Parser::Parser(Role role, ParserSink& sink, ParserLimits limits)
    : role_(role), sink_(sink), limits_(limits) {}

ParseError Parser::fail(ParseError e) {
    error_ = e;
    return e;
}

bool Parser::verb_char(char c) {
    if (verb_len_ == sizeof verb_) return false;
    verb_[verb_len_++] = upper(c);
    std::string_view so_far(verb_, verb_len_);
    bool any = false;
    for (const Verb& v : kVerbs) {
        if (!(role_ == Role::kServer ? v.server : v.client)) continue;
        if (v.name.substr(0, so_far.size()) != so_far) continue;
        any = true;
        if (v.name.size() == so_far.size()) {
            op_ = v.op;
            state_ = no_args(op_)       ? State::kSkipLine
                     : needs_space(op_) ? State::kNeedSpace
                                        : State::kSkipSpace;
        }
    }
    return any;
}

bool Parser::emit_simple() {
    switch (op_) {
        case Op::kPing:
            return sink_.on_ping();
        case Op::kPong:
            return sink_.on_pong();
        default:
            return sink_.on_ok();
    }
}

ParseError Parser::parse_msg_args(std::string_view line) {
    std::array<std::string_view, 5> f;
    const bool hdr = op_ == Op::kHpub || op_ == Op::kHmsg;
    const bool msg = op_ == Op::kMsg || op_ == Op::kHmsg;
    // PUB subj [reply] size | HPUB subj [reply] hdr total
    // MSG subj sid [reply] size | HMSG subj sid [reply] hdr total
    const size_t min = 2 + (hdr ? 1 : 0) + (msg ? 1 : 0);
    const size_t n = split(line, f, is_blank);
    if (n < min || n > min + 1) return ParseError::kBadArguments;
    auto field = [&](std::string_view v) {
        return Field{static_cast<uint32_t>(v.data() - line.data()),
                     static_cast<uint32_t>(v.size())};
    };
    subject_ = field(f[0]);
    size_t next = 1;
    sid_ = msg ? field(f[next++]) : Field{};
    reply_ = n == min + 1 ? field(f[next++]) : Field{};
    header_len_ = hdr ? parse_size(f[next++]) : -1;
    total_len_ = parse_size(f[next]);
    if (hdr && header_len_ < 0) return ParseError::kBadArguments;
    if (total_len_ < 0 || header_len_ > total_len_) return ParseError::kBadArguments;
    if (limits_.max_payload >= 0 && total_len_ > limits_.max_payload)
        return ParseError::kMaxPayload;
    return ParseError::kNone;
}

ParseError Parser::finish_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits_.max_control_line) return ParseError::kMaxControlLine;
    bool go = true;
    switch (op_) {
        case Op::kPub:
        case Op::kHpub:
        case Op::kMsg:
        case Op::kHmsg:
            return parse_msg_args(line);
        case Op::kSub: {
            std::array<std::string_view, 3> f;
            size_t n = split(line, f, is_blank_or_eol);
            if (n == 2)
                go = sink_.on_sub(f[0], {}, f[1]);
            else if (n == 3)
                go = sink_.on_sub(f[0], f[1], f[2]);
            else
                return ParseError::kBadArguments;
            break;
        }
        case Op::kUnsub: {
            std::array<std::string_view, 2> f;
            size_t n = split(line, f, is_blank_or_eol);
            if (n == 1)
                go = sink_.on_unsub(f[0], -1);
            else if (n == 2)
                go = sink_.on_unsub(f[0], parse_size(f[1]));
            else
                return ParseError::kBadArguments;
            break;
        }
        case Op::kConnect:
            go = sink_.on_connect(line);
            break;
        case Op::kInfo:
            go = sink_.on_info(line);
            break;
        case Op::kErr:
            go = sink_.on_err(line);
            break;
        default:
            break;
    }
    return go ? ParseError::kNone : ParseError::kStopped;
}

ParseError Parser::emit_msg(std::string_view line, std::string_view payload) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    MsgArgs a;
    a.subject = line.substr(subject_.off, subject_.len);
    a.reply = line.substr(reply_.off, reply_.len);
    a.sid = line.substr(sid_.off, sid_.len);
    a.header_len = header_len_;
    a.total_len = total_len_;
    bool go =
        (op_ == Op::kPub || op_ == Op::kHpub) ? sink_.on_pub(a, payload) : sink_.on_msg(a, payload);
    return go ? ParseError::kNone : ParseError::kStopped;
}

ParseError Parser::feed(const char* data, size_t len) {
    if (error_ != ParseError::kNone) return error_;
    size_t i = 0;
    // The current control line: a view into `data` or into line_ when it was split.
    std::string_view line;
    if (state_ == State::kPayload) line = line_;

    while (i < len) {
        switch (state_) {
            case State::kStart: {
                // Fast path for the one command that dominates each direction.
                if (!require_connect_ && len - i >= 4 && is_blank(data[i + 3])) {
                    const char* p = data + i;
                    bool pub = role_ == Role::kServer && (p[0] | 0x20) == 'p' &&
                               (p[1] | 0x20) == 'u' && (p[2] | 0x20) == 'b';
                    bool msg = role_ == Role::kClient && (p[0] | 0x20) == 'm' &&
                               (p[1] | 0x20) == 's' && (p[2] | 0x20) == 'g';
                    if (pub || msg) {
                        op_ = pub ? Op::kPub : Op::kMsg;
                        state_ = State::kSkipSpace;
                        i += 4;
                        break;
                    }
                }
                if (require_connect_ && data[i] != 'C' && data[i] != 'c')
                    return fail(ParseError::kAuthViolation);
                verb_len_ = 0;
                op_ = Op::kNone;
                state_ = State::kVerb;
                [[fallthrough]];
            }
            case State::kVerb:
                if (!verb_char(data[i++])) return fail(ParseError::kUnknownOp);
                break;
            case State::kNeedSpace:
                if (!is_blank(data[i++])) return fail(ParseError::kUnknownOp);
                state_ = State::kSkipSpace;
                break;
            case State::kSkipSpace:
                while (i < len && is_blank(data[i]))
                    ++i;
                if (i < len) state_ = State::kArgs;
                break;
            case State::kSkipLine: {
                const void* nl = std::memchr(data + i, '\n', len - i);
                if (!nl) {
                    i = len;
                    break;
                }
                i = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
                state_ = State::kStart;
                if (!emit_simple()) return fail(ParseError::kStopped);
                break;
            }
            case State::kArgs: {
                const void* nl = std::memchr(data + i, '\n', len - i);
                if (!nl) {
                    // Checked before buffering, so a line never holds more than the limit.
                    // A trailing '\r' does not count: its '\n' may be in the next feed.
                    size_t n = line_.size() + (len - i) - (data[len - 1] == '\r' ? 1 : 0);
                    if (n > limits_.max_control_line) return fail(ParseError::kMaxControlLine);
                    line_.append(data + i, len - i);
                    i = len;
                    break;
                }
                size_t end = static_cast<size_t>(static_cast<const char*>(nl) - data);
                if (line_.empty()) {
                    line = std::string_view(data + i, end - i);
                } else {
                    line_.append(data + i, end - i);
                    line = line_;
                }
                i = end + 1;
                if (ParseError e = finish_line(line); e != ParseError::kNone) return fail(e);
                if (has_payload(op_)) {
                    state_ = State::kPayload;
                } else {
                    line_.clear();
                    state_ = State::kStart;
                }
                break;
            }
            case State::kPayload: {
                const size_t need = static_cast<size_t>(total_len_) + 2;
                std::string_view body;
                if (payload_.empty() && len - i >= need) {
                    body = std::string_view(data + i, need);
                    i += need;
                } else {
                    if (payload_.capacity() < need) payload_.reserve(need);
                    size_t take = std::min(need - payload_.size(), len - i);
                    payload_.append(data + i, take);
                    i += take;
                    if (payload_.size() < need) break;
                    body = payload_;
                }
                if (body[need - 2] != '\r' || body[need - 1] != '\n')
                    return fail(ParseError::kUnknownOp);
                ParseError e = emit_msg(line, body.substr(0, need - 2));
                state_ = State::kStart;
                line_.clear();
                payload_.clear();
                // Do not keep a large split payload's buffer around on an idle connection.
                if (payload_.capacity() > 64 * 1024) std::string().swap(payload_);
                if (e != ParseError::kNone) return fail(e);
                break;
            }
        }
    }
    // A command whose payload has not fully arrived keeps its control line.
    if (state_ == State::kPayload && line_.empty()) line_.assign(line);
    return ParseError::kNone;
}

}  // namespace keel::bus
