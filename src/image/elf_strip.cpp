#include "image/elf_strip.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "image/bounded_read.h"

namespace keel::image {
namespace {

bool removable_name(std::string_view n) {
    return n.starts_with(".debug") || n.starts_with(".zdebug") || n == ".comment" ||
           n == ".gnu_debuglink" || n == ".gnu_debugaltlink";
}

// sh_info holds a section index (the section relocations apply to).
bool info_is_section(const Elf64_Shdr& s) {
    return (s.sh_flags & SHF_INFO_LINK) || s.sh_type == SHT_REL || s.sh_type == SHT_RELA;
}

}  // namespace

Result<std::optional<std::string>> strip_elf(std::string_view bytes, const std::string& what) {
    if (bytes.size() < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
        return std::optional<std::string>();
    Elf64_Ehdr eh;
    if (!read_at(bytes, 0, &eh)) return Error(what + ": truncated ELF header");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return std::optional<std::string>();
    // Relocatable objects (and kernel modules) need their symbols.
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return std::optional<std::string>();
    if (eh.e_shoff == 0 || eh.e_shnum == 0 || eh.e_shstrndx == SHN_UNDEF ||
        eh.e_shstrndx >= SHN_LORESERVE)
        return std::optional<std::string>();
    if (eh.e_shentsize != sizeof(Elf64_Shdr)) return Error(what + ": bad section header size");
    if (eh.e_shstrndx >= eh.e_shnum) return Error(what + ": section name table index out of range");
    const size_t n = eh.e_shnum;
    if (!inside(bytes, eh.e_shoff, n * sizeof(Elf64_Shdr)))
        return Error(what + ": section headers run past the end of the file");
    std::vector<Elf64_Shdr> sh(n);
    std::memcpy(sh.data(), bytes.data() + eh.e_shoff, n * sizeof(Elf64_Shdr));

    const Elf64_Shdr& names = sh[eh.e_shstrndx];
    if (names.sh_type == SHT_NOBITS || !inside(bytes, names.sh_offset, names.sh_size))
        return Error(what + ": section name table runs past the end of the file");
    std::string_view name_table = bytes.substr(names.sh_offset, names.sh_size);
    std::vector<std::string_view> name(n);
    for (size_t i = 0; i < n; ++i) {
        if (sh[i].sh_name >= name_table.size()) {
            if (i == 0 && sh[i].sh_name == 0) continue;  // an empty name table
            return Error(what + ": section name outside the name table");
        }
        std::string_view s = name_table.substr(sh[i].sh_name);
        size_t nul = s.find('\0');
        if (nul == std::string_view::npos) return Error(what + ": unterminated section name");
        name[i] = s.substr(0, nul);
    }

    // The loaded bytes: headers and every program header's file range keep their offsets.
    uint64_t loaded_end = sizeof(Elf64_Ehdr);
    if (eh.e_phnum) {
        if (eh.e_phentsize != sizeof(Elf64_Phdr)) return Error(what + ": bad program header size");
        if (!inside(bytes, eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr)))
            return Error(what + ": program headers run past the end of the file");
        loaded_end =
            std::max<uint64_t>(loaded_end, eh.e_phoff + uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr));
        for (size_t i = 0; i < eh.e_phnum; ++i) {
            Elf64_Phdr ph;
            std::memcpy(&ph, bytes.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof ph);
            if (!inside(bytes, ph.p_offset, ph.p_filesz))
                return Error(what + ": a segment runs past the end of the file");
            loaded_end = std::max(loaded_end, ph.p_offset + ph.p_filesz);
        }
    }

    std::vector<bool> drop(n, false);
    for (size_t i = 1; i < n; ++i)
        if (!(sh[i].sh_flags & SHF_ALLOC) && i != eh.e_shstrndx &&
            (sh[i].sh_type == SHT_SYMTAB || removable_name(name[i])))
            drop[i] = true;
    // Whatever links to a dropped section goes too, unless it is loaded: then the
    // file stays as it is.
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 1; i < n; ++i) {
            if (drop[i]) continue;
            bool dangling = (sh[i].sh_link < n && drop[sh[i].sh_link]) ||
                            (info_is_section(sh[i]) && sh[i].sh_info < n && drop[sh[i].sh_info]);
            if (!dangling) continue;
            if (sh[i].sh_flags & SHF_ALLOC) return std::optional<std::string>();
            drop[i] = changed = true;
        }
    }
    // A dropped symbol table's string table, when nothing kept uses it.
    for (size_t i = 1; i < n; ++i) {
        if (!drop[i] || sh[i].sh_type != SHT_SYMTAB) continue;
        size_t s = sh[i].sh_link;
        if (s == 0 || s >= n || s == eh.e_shstrndx || sh[s].sh_type != SHT_STRTAB ||
            (sh[s].sh_flags & SHF_ALLOC))
            continue;
        bool used = false;
        for (size_t j = 1; j < n; ++j)
            used = used || (!drop[j] && j != s && sh[j].sh_link == s);
        if (!used) drop[s] = true;
    }
    if (std::none_of(drop.begin(), drop.end(), [](bool d) { return d; }))
        return std::optional<std::string>();
    for (size_t i = 1; i < n; ++i)
        if (!drop[i] && (sh[i].sh_flags & SHF_ALLOC) && sh[i].sh_type != SHT_NOBITS &&
            !(sh[i].sh_offset <= loaded_end && loaded_end - sh[i].sh_offset >= sh[i].sh_size))
            return std::optional<std::string>();

    std::string out(bytes.substr(0, loaded_end));
    std::vector<size_t> index(n, 0);
    std::vector<Elf64_Shdr> kept;
    std::string new_names(1, '\0');
    for (size_t i = 0; i < n; ++i) {
        if (drop[i]) continue;
        index[i] = kept.size();
        Elf64_Shdr s = sh[i];
        if (i != 0) {
            s.sh_name = static_cast<Elf64_Word>(new_names.size());
            new_names.append(name[i]);
            new_names.push_back('\0');
        }
        kept.push_back(s);
    }
    for (size_t i = 1; i < n; ++i) {
        if (drop[i] || i == eh.e_shstrndx || sh[i].sh_type == SHT_NOBITS) continue;
        Elf64_Shdr& s = kept[index[i]];
        if (s.sh_offset <= loaded_end && loaded_end - s.sh_offset >= s.sh_size)
            continue;  // in place
        if (!inside(bytes, s.sh_offset, s.sh_size))
            return Error(what + ": section " + std::string(name[i]) +
                         " runs past the end of the file");
        uint64_t align = std::max<uint64_t>(s.sh_addralign, 1);
        if (align > 4096)
            return Error(what + ": section " + std::string(name[i]) + " has a bad alignment");
        out.resize((out.size() + align - 1) / align * align, '\0');
        std::string_view body = bytes.substr(s.sh_offset, s.sh_size);
        s.sh_offset = out.size();
        out.append(body);
    }
    Elf64_Shdr& strtab = kept[index[eh.e_shstrndx]];
    strtab.sh_offset = out.size();
    strtab.sh_size = new_names.size();
    out += new_names;
    for (auto& s : kept) {
        if (s.sh_link < n) s.sh_link = static_cast<Elf64_Word>(index[s.sh_link]);
        if (info_is_section(s) && s.sh_info < n)
            s.sh_info = static_cast<Elf64_Word>(index[s.sh_info]);
    }
    out.resize((out.size() + 7) / 8 * 8, '\0');
    eh.e_shoff = out.size();
    eh.e_shnum = static_cast<Elf64_Half>(kept.size());
    eh.e_shstrndx = static_cast<Elf64_Half>(index[eh.e_shstrndx]);
    out.append(reinterpret_cast<const char*>(kept.data()), kept.size() * sizeof(Elf64_Shdr));
    std::memcpy(out.data(), &eh, sizeof eh);
    return std::optional<std::string>(std::move(out));
}

}  // namespace keel::image
