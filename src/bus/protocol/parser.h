// Parser: the NATS client protocol as a pure state machine. Fed bytes in any
// split, it calls a ParserSink once per complete command. Arguments and payloads
// are views into the fed buffer when a command arrives whole, and into the
// parser's own buffers only when it was split across feeds.
//
// Role::kServer parses what clients send (CONNECT PUB HPUB SUB UNSUB PING PONG
// and the tolerated INFO +OK -ERR); Role::kClient parses what servers send (INFO
// MSG HMSG PING PONG +OK -ERR). Behaviour follows nats-server's parser: verbs are
// case-insensitive, a lone LF ends a line, anything after PING/PONG/+OK up to the
// newline is ignored, and limits are checked on the control line before any
// payload byte is buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keel::bus {

enum class Role : uint8_t { kServer, kClient };

enum class Op : uint8_t {
    kNone,
    kConnect,
    kInfo,
    kPub,
    kHpub,
    kMsg,
    kHmsg,
    kSub,
    kUnsub,
    kPing,
    kPong,
    kOk,
    kErr
};

enum class ParseError : uint8_t {
    kNone,
    kStopped,         // the sink asked to stop; not a protocol error
    kUnknownOp,       // -ERR 'Unknown Protocol Operation'
    kAuthViolation,   // a command other than CONNECT came first while one was required
    kMaxControlLine,  // -ERR 'maximum control line exceeded'
    kMaxPayload,      // -ERR 'Maximum Payload Violation'
    kBadArguments,    // malformed PUB/SUB/UNSUB/MSG arguments: close without -ERR
};

const char* to_string(ParseError e);

// Arguments of PUB, HPUB, MSG and HMSG. The payload passed alongside includes
// the header block when header_len >= 0.
struct MsgArgs {
    std::string_view subject;
    std::string_view reply;   // empty when absent
    std::string_view sid;     // MSG/HMSG only
    int64_t header_len = -1;  // -1: no headers
    int64_t total_len = 0;
};

class ParserSink {
  public:
    virtual ~ParserSink() = default;
    // Every callback returns false to stop parsing (the connection is closing).
    virtual bool on_connect(std::string_view json) {
        (void)json;
        return true;
    }
    virtual bool on_info(std::string_view json) {
        (void)json;
        return true;
    }
    virtual bool on_pub(const MsgArgs& args, std::string_view payload) {
        (void)args;
        (void)payload;
        return true;
    }
    virtual bool on_msg(const MsgArgs& args, std::string_view payload) {
        (void)args;
        (void)payload;
        return true;
    }
    virtual bool on_sub(std::string_view subject, std::string_view queue, std::string_view sid) {
        (void)subject;
        (void)queue;
        (void)sid;
        return true;
    }
    // max < 0: unsubscribe now.
    virtual bool on_unsub(std::string_view sid, int64_t max) {
        (void)sid;
        (void)max;
        return true;
    }
    virtual bool on_ping() { return true; }
    virtual bool on_pong() { return true; }
    virtual bool on_ok() { return true; }
    virtual bool on_err(std::string_view text) {
        (void)text;
        return true;
    }
};

struct ParserLimits {
    size_t max_control_line = 4096;
    int64_t max_payload = 1024 * 1024;
};

class Parser {
  public:
    // `sink` must outlive the parser.
    Parser(Role role, ParserSink& sink, ParserLimits limits = {});
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    // Consumes all of `data`, holding incomplete commands for the next call.
    // After an error (or a stop) the parser refuses further input.
    ParseError feed(const char* data, size_t len);
    ParseError feed(std::string_view s) { return feed(s.data(), s.size()); }

    // While set, any command not starting with 'C' fails with kAuthViolation.
    void require_connect_first(bool on) { require_connect_ = on; }
    void set_limits(ParserLimits limits) { limits_ = limits; }
    ParseError error() const { return error_; }
    // The command being parsed when the error happened.
    Op op() const { return op_; }
    // Bytes held for a command split across feeds.
    size_t buffered() const { return line_.size() + payload_.size(); }

  private:
    enum class State : uint8_t {
        kStart,
        kVerb,
        kNeedSpace,
        kSkipSpace,
        kArgs,
        kSkipLine,
        kPayload
    };
    struct Field {
        uint32_t off = 0, len = 0;
    };

    ParseError fail(ParseError e);
    bool verb_char(char c);
    ParseError finish_line(std::string_view line);
    ParseError parse_msg_args(std::string_view line);
    ParseError emit_msg(std::string_view line, std::string_view payload);
    bool emit_simple();

    Role role_;
    ParserSink& sink_;
    ParserLimits limits_;
    State state_ = State::kStart;
    Op op_ = Op::kNone;
    char verb_[8] = {};  // verb letters so far, uppercased
    uint8_t verb_len_ = 0;
    bool require_connect_ = false;
    ParseError error_ = ParseError::kNone;

    // Parsed MSG/PUB arguments, as offsets into the line they came from.
    Field subject_, reply_, sid_;
    int64_t header_len_ = -1;
    int64_t total_len_ = 0;

    std::string line_;     // control line split across feeds
    std::string payload_;  // payload (plus CRLF) split across feeds
};

// nats-server's parseSize: 1 to 9 decimal digits, else -1.
int64_t parse_size(std::string_view digits);

}  // namespace keel::bus
