#include "bus/protocol/encoder.h"

#include <cstring>

namespace keel::bus::encode {
namespace {

inline char* put(char* p, std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

}  // namespace

size_t put_uint(char* p, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; ++i)
        p[i] = tmp[n - 1 - i];
    return n;
}

void msg(ByteBuffer& out, std::string_view subject, std::string_view sid, std::string_view reply,
         int64_t header_len, std::string_view payload) {
    // verb + 4 spaces + 2 numbers + 2 CRLFs fit in 64 bytes
    char* start = out.reserve(subject.size() + sid.size() + reply.size() + payload.size() + 64);
    char* p = start;
    if (header_len >= 0) {
        p = put(p, "HMSG ");
    } else {
        p = put(p, "MSG ");
    }
    p = put(p, subject);
    *p++ = ' ';
    p = put(p, sid);
    *p++ = ' ';
    if (!reply.empty()) {
        p = put(p, reply);
        *p++ = ' ';
    }
    if (header_len >= 0) {
        p += put_uint(p, static_cast<uint64_t>(header_len));
        *p++ = ' ';
    }
    p += put_uint(p, payload.size());
    *p++ = '\r';
    *p++ = '\n';
    p = put(p, payload);
    *p++ = '\r';
    *p++ = '\n';
    out.commit(static_cast<size_t>(p - start));
}

void pub(ByteBuffer& out, std::string_view subject, std::string_view reply,
         std::string_view headers, std::string_view body) {
    char* start = out.reserve(subject.size() + reply.size() + headers.size() + body.size() + 64);
    char* p = start;
    p = put(p, headers.empty() ? "PUB " : "HPUB ");
    p = put(p, subject);
    *p++ = ' ';
    if (!reply.empty()) {
        p = put(p, reply);
        *p++ = ' ';
    }
    if (!headers.empty()) {
        p += put_uint(p, headers.size());
        *p++ = ' ';
    }
    p += put_uint(p, headers.size() + body.size());
    *p++ = '\r';
    *p++ = '\n';
    p = put(p, headers);
    p = put(p, body);
    *p++ = '\r';
    *p++ = '\n';
    out.commit(static_cast<size_t>(p - start));
}

void sub(ByteBuffer& out, std::string_view subject, std::string_view queue, std::string_view sid) {
    char* start = out.reserve(subject.size() + queue.size() + sid.size() + 16);
    char* p = put(start, "SUB ");
    p = put(p, subject);
    *p++ = ' ';
    if (!queue.empty()) {
        p = put(p, queue);
        *p++ = ' ';
    }
    p = put(p, sid);
    p = put(p, "\r\n");
    out.commit(static_cast<size_t>(p - start));
}

void unsub(ByteBuffer& out, std::string_view sid, uint64_t max) {
    char* start = out.reserve(sid.size() + 40);
    char* p = put(start, "UNSUB ");
    p = put(p, sid);
    if (max) {
        *p++ = ' ';
        p += put_uint(p, max);
    }
    p = put(p, "\r\n");
    out.commit(static_cast<size_t>(p - start));
}

void err(ByteBuffer& out, std::string_view text) {
    char* start = out.reserve(text.size() + 16);
    char* p = put(start, "-ERR '");
    p = put(p, text);
    p = put(p, "'\r\n");
    out.commit(static_cast<size_t>(p - start));
}

void line(ByteBuffer& out, std::string_view verb, std::string_view arg) {
    char* start = out.reserve(verb.size() + arg.size() + 3);
    char* p = put(start, verb);
    if (!arg.empty()) {
        *p++ = ' ';
        p = put(p, arg);
    }
    p = put(p, "\r\n");
    out.commit(static_cast<size_t>(p - start));
}

}  // namespace keel::bus::encode
