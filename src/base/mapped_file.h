// MappedFile: a whole file mapped read-only (sys::map_file). Its pages are the page
// cache's, so a large index costs no private memory. Move-only; unmaps when destroyed.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <string_view>
#include <utility>

namespace keel {

class MappedFile {
  public:
    MappedFile() = default;
    MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
    ~MappedFile() {
        if (addr_) ::munmap(addr_, size_);
    }
    MappedFile(MappedFile&& o) noexcept
        : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    MappedFile& operator=(MappedFile&& o) noexcept {
        if (this != &o) {
            if (addr_) ::munmap(addr_, size_);
            addr_ = std::exchange(o.addr_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::string_view view() const { return {static_cast<const char*>(addr_), size_}; }

  private:
    void* addr_ = nullptr;
    size_t size_ = 0;
};

}  // namespace keel
