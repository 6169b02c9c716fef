// Result<T>: a value or an Error carrying errno and what was being done.
// System and protocol failures travel as values; exceptions are for programmer
// errors and the CLI boundary only.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace keel {

class Error {
  public:
    Error(std::string what, int code = 0) : what_(std::move(what)), code_(code) {}

    // errno value, or 0 for failures that are not system errors.
    int code() const { return code_; }
    const std::string& what() const { return what_; }
    // "cannot listen on 127.0.0.1:4222: Address already in use"
    std::string message() const {
        if (code_ == 0) return what_;
        return what_ + ": " + std::strerror(code_);
    }

  private:
    std::string what_;
    int code_;
};

// Builds an Error from the current errno; the only place business code reads errno.
inline Error errno_error(std::string what) {
    return Error(std::move(what), errno);
}

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T& operator*() & { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

  private:
    Error error_{""};
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace keel

// TRY(expr): evaluates a Result; returns its Error from the enclosing function on
// failure, otherwise yields the value (GCC/Clang statement expression).
#define KEEL_TRY(expr)                             \
    ({                                             \
        auto _keel_r = (expr);                     \
        if (!_keel_r.ok()) return _keel_r.error(); \
        std::move(_keel_r).value();                \
    })
#define KEEL_TRY_STATUS(expr)                      \
    do {                                           \
        auto _keel_s = (expr);                     \
        if (!_keel_s.ok()) return _keel_s.error(); \
    } while (0)
