// BenchConn: one blocking client connection of `keel bench`. Each connection is
// used by one thread at a time and owns its socket, its read buffer and its
// parser, so the hot loops are one large read or write and nothing else: no
// event loop, no per-message allocation, no per-message system call.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/endpoint.h"
#include "base/fd.h"
#include "base/result.h"
#include "bus/protocol/parser.h"

namespace keel::cli::bench {

struct ServerSpec {
    Endpoint endpoint;
    std::string display;  // the server as the user wrote it, for messages
    // Credentials (else those in the URL) and the connection name sent in CONNECT.
    std::string user, password, token;
    std::string name = "keel-bench";
    // Bounds the connect and handshake, and any silence while a reply or message is awaited.
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
};

class BenchConn : public bus::ParserSink {
  public:
    // `role` names the connection in messages ("subscriber 2").
    explicit BenchConn(std::string role);
    ~BenchConn() override;
    BenchConn(const BenchConn&) = delete;
    BenchConn& operator=(const BenchConn&) = delete;

    // Connects and does the handshake (INFO, CONNECT + PING, PONG); the error names the server.
    Status open(const ServerSpec& server);

    const std::string& role() const { return role_; }
    int64_t max_payload() const { return max_payload_; }

    Status write_all(std::string_view bytes);
    // Writes every byte of the vector; `iov` is consumed (modified) on partial writes.
    Status writev_all(iovec* iov, int count);
    // One read of up to kReadSize bytes, fed to the parser. Fails when the server
    // closes, stays silent longer than the timeout, breaks the protocol or sends -ERR.
    Status read_some();
    // PING, counted in pings_sent().
    Status send_ping() { return write_all_pings(1); }
    Status write_all_pings(int n);
    // Reads until `n` PONGs have arrived in all.
    Status wait_pongs(uint64_t n);
    // PING and wait for its PONG: everything sent before has been processed by the server.
    Status flush();
    // Unblocks a thread blocked on this connection; safe from any thread.
    void abort();

    // Counters kept by the default on_msg.
    uint64_t msgs() const { return msgs_; }
    uint64_t payload_bytes() const { return payload_bytes_; }
    uint64_t wrong_size() const { return wrong_size_; }
    void expect_payload_size(int64_t n) { expect_size_ = n; }
    uint64_t pongs() const { return pongs_; }
    uint64_t pings_sent() const { return pings_sent_; }
    // Counts PINGs the caller wrote itself as part of a larger write.
    void count_pings_sent(uint64_t n) { pings_sent_ += n; }

    static constexpr size_t kReadSize = 256 * 1024;

  protected:
    bool on_msg(const bus::MsgArgs& args, std::string_view payload) override;
    bool on_info(std::string_view json) override;
    bool on_ping() override;
    bool on_pong() override;
    bool on_err(std::string_view text) override;

  private:
    // "ROLE: " + the formatted text (+ ": strerror(code)" when code != 0).
    Error fail(int code, const char* format, ...) const __attribute__((format(printf, 3, 4), cold));
    // "cannot connect to SERVER: " + why, for handshake failures.
    Error fail_open(const Error& why) const __attribute__((cold));

    std::string role_;
    std::string display_;
    std::chrono::nanoseconds timeout_{0};
    Fd fd_;
    bus::Parser parser_;
    std::unique_ptr<char[]> rbuf_;
    std::string info_json_;
    bool info_seen_ = false;
    int64_t max_payload_ = 1024 * 1024;
    std::string server_error_;
    int pings_owed_ = 0;
    uint64_t pongs_ = 0, pings_sent_ = 0;
    uint64_t msgs_ = 0, payload_bytes_ = 0, wrong_size_ = 0;
    int64_t expect_size_ = -1;
};

}  // namespace keel::cli::bench
