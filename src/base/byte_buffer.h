// ByteBuffer: contiguous bytes appended at the back and consumed from the front,
// for socket output. Grows by doubling; consumed space is reclaimed by sliding the
// live bytes down when that is cheap, so steady traffic never reallocates.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace keel {

class ByteBuffer {
  public:
    ByteBuffer() = default;
    ~ByteBuffer() { std::free(data_); }
    ByteBuffer(ByteBuffer&& o) noexcept
        : data_(o.data_), head_(o.head_), tail_(o.tail_), cap_(o.cap_) {
        o.data_ = nullptr;
        o.head_ = o.tail_ = o.cap_ = 0;
    }
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;

    const char* data() const { return data_ + head_; }
    size_t size() const { return tail_ - head_; }
    bool empty() const { return head_ == tail_; }
    size_t capacity() const { return cap_; }
    std::string_view view() const { return {data(), size()}; }

    // Returns room for `n` more bytes at the back; commit() what was written.
    char* reserve(size_t n) {
        if (cap_ - tail_ < n) make_room(n);
        return data_ + tail_;
    }
    void commit(size_t n) { tail_ += n; }

    void append(const char* p, size_t n) {
        std::memcpy(reserve(n), p, n);
        tail_ += n;
    }
    void append(std::string_view s) { append(s.data(), s.size()); }

    void consume(size_t n) {
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
    }
    void clear() { head_ = tail_ = 0; }
    // Gives memory back when a burst has drained.
    void release_if_idle(size_t keep) {
        if (empty() && cap_ > keep) {
            std::free(data_);
            data_ = nullptr;
            cap_ = 0;
        }
    }

  private:
    void make_room(size_t n) {
        size_t live = size();
        if (head_ > 0 && cap_ - live >= n && live <= cap_ / 2) {
            std::memmove(data_, data_ + head_, live);
        } else {
            size_t cap = cap_ ? cap_ : 4096;
            while (cap - live < n)
                cap *= 2;
            char* p = static_cast<char*>(std::malloc(cap));
            if (!p) throw std::bad_alloc();
            if (live) std::memcpy(p, data_ + head_, live);
            std::free(data_);
            data_ = p;
            cap_ = cap;
        }
        head_ = 0;
        tail_ = live;
    }

    char* data_ = nullptr;
    size_t head_ = 0, tail_ = 0, cap_ = 0;
};

}  // namespace keel
