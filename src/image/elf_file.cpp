#include "image/elf_file.h"

#include <elf.h>

#include <cstring>

#include "image/bounded_read.h"

namespace keel::image {
namespace {

void split_path_list(std::string_view s, std::vector<std::string>* out) {
    size_t i = 0;
    while (i <= s.size()) {
        size_t j = s.find(':', i);
        if (j == std::string_view::npos) j = s.size();
        if (j > i) out->emplace_back(s.substr(i, j - i));
        i = j + 1;
    }
}

}  // namespace

Result<ElfInfo> parse_elf(std::string_view bytes, const std::string& what) {
    ElfInfo info;
    if (bytes.size() < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) return info;
    info.is_elf = true;
    Elf64_Ehdr eh;
    if (!read_at(bytes, 0, &eh)) return Error(what + ": truncated ELF header");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) return Error(what + ": not a 64-bit ELF file");
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB) return Error(what + ": not a little-endian ELF file");
    info.machine = eh.e_machine;
    if (eh.e_phnum == 0) return info;  // relocatable objects: nothing to load
    if (eh.e_phentsize != sizeof(Elf64_Phdr)) return Error(what + ": bad program header size");

    std::vector<Elf64_Phdr> loads;
    Elf64_Phdr dynamic{};
    bool has_dynamic = false;
    for (uint64_t i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        if (eh.e_phoff > bytes.size() || !read_at(bytes, eh.e_phoff + i * sizeof(Elf64_Phdr), &ph))
            return Error(what + ": program headers run past the end of the file");
        if (ph.p_type == PT_LOAD) loads.push_back(ph);
        if (ph.p_type == PT_DYNAMIC) {
            dynamic = ph;
            has_dynamic = true;
        }
        if (ph.p_type == PT_INTERP) {
            if (ph.p_offset > bytes.size() || bytes.size() - ph.p_offset < ph.p_filesz ||
                ph.p_filesz == 0)
                return Error(what + ": PT_INTERP runs past the end of the file");
            std::string_view s = bytes.substr(ph.p_offset, ph.p_filesz);
            size_t nul = s.find('\0');
            if (nul == std::string_view::npos || nul == 0)
                return Error(what + ": PT_INTERP is not a C string");
            info.interp = std::string(s.substr(0, nul));
        }
    }
    if (!has_dynamic) return info;  // static
    if (dynamic.p_offset > bytes.size() || bytes.size() - dynamic.p_offset < dynamic.p_filesz)
        return Error(what + ": PT_DYNAMIC runs past the end of the file");

    // DT_STRTAB is an address: the PT_LOAD holding it gives its file offset.
    auto file_offset = [&](uint64_t addr, uint64_t* off) {
        for (const auto& l : loads)
            if (addr >= l.p_vaddr && addr - l.p_vaddr < l.p_filesz) {
                *off = l.p_offset + (addr - l.p_vaddr);
                return true;
            }
        return false;
    };
    uint64_t strtab = 0, strsz = 0;
    bool has_strtab = false;
    std::vector<std::pair<int64_t, uint64_t>> strings;  // (tag, offset in strtab)
    for (uint64_t off = dynamic.p_offset;
         off + sizeof(Elf64_Dyn) <= dynamic.p_offset + dynamic.p_filesz; off += sizeof(Elf64_Dyn)) {
        Elf64_Dyn d;
        if (!read_at(bytes, off, &d)) return Error(what + ": truncated dynamic section");
        if (d.d_tag == DT_NULL) break;
        if (d.d_tag == DT_STRTAB) {
            has_strtab = true;
            strtab = d.d_un.d_ptr;
        } else if (d.d_tag == DT_STRSZ) {
            strsz = d.d_un.d_val;
        } else if (d.d_tag == DT_NEEDED || d.d_tag == DT_RPATH || d.d_tag == DT_RUNPATH) {
            strings.emplace_back(d.d_tag, d.d_un.d_val);
        }
    }
    if (strings.empty()) return info;
    uint64_t str_off = 0;
    if (!has_strtab || !file_offset(strtab, &str_off))
        return Error(what + ": DT_STRTAB is not inside a loaded segment");
    if (str_off > bytes.size() || bytes.size() - str_off < strsz)
        return Error(what + ": string table runs past the end of the file");
    std::string_view table = bytes.substr(str_off, strsz);
    for (const auto& [tag, at] : strings) {
        if (at >= table.size())
            return Error(what + ": dynamic string offset outside the string table");
        std::string_view s = table.substr(at);
        size_t nul = s.find('\0');
        if (nul == std::string_view::npos) return Error(what + ": unterminated dynamic string");
        s = s.substr(0, nul);
        if (tag == DT_NEEDED) {
            if (s.empty()) return Error(what + ": empty DT_NEEDED name");
            info.needed.emplace_back(s);
        } else {
            split_path_list(s, tag == DT_RPATH ? &info.rpath : &info.runpath);
        }
    }
    return info;
}

}  // namespace keel::image
