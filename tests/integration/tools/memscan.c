/* memscan: a Lua C module for the keel luad tests only. It looks for bytes in the
 * memory of the process it is loaded into, the way a hostile script with a C
 * module could: reading every readable mapping of /proc/self/maps directly (a
 * child after setuid is not dumpable, so /proc/self/mem would prove nothing).
 *
 *   memscan.count(HEX) -> occurrences, mappings read, bytes read
 *
 * HEX is the needle hex-encoded, so that the raw bytes reach memory only in the
 * module's own buffer, which the scan leaves out and wipes afterwards. Mappings
 * that fault when read (a file shorter than its mapping) are skipped.
 */
#define _GNU_SOURCE
#include <lauxlib.h>
#include <lua.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf fault_jump;

static void on_fault(int sig) {
    (void)sig;
    siglongjmp(fault_jump, 1);
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The whole of /proc/self/maps, read before scanning (the scan allocates nothing). */
static char* read_maps(void) {
    FILE* f = fopen("/proc/self/maps", "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char* buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1) break;
        cap *= 2;
        char* bigger = realloc(buf, cap);
        if (!bigger) free(buf);
        buf = bigger;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

/* Occurrences of needle in [start, end), or -1 if reading it faulted. */
static long scan_range(uintptr_t start, uintptr_t end, const unsigned char* needle, size_t n) {
    volatile long found = 0;
    if (sigsetjmp(fault_jump, 1) != 0) return -1;
    const unsigned char* p = (const unsigned char*)start;
    const unsigned char* stop = (const unsigned char*)end;
    while (p < stop) {
        const unsigned char* hit = memmem(p, (size_t)(stop - p), needle, n);
        if (!hit) break;
        ++found;
        p = hit + 1;
    }
    return found;
}

static int count(lua_State* L) {
    size_t hexlen;
    const char* hex = luaL_checklstring(L, 1, &hexlen);
    luaL_argcheck(L, hexlen >= 2 && hexlen % 2 == 0, 1, "an even number of hex digits expected");
    size_t n = hexlen / 2;
    unsigned char* needle =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (needle == MAP_FAILED) return luaL_error(L, "mmap failed");
    for (size_t i = 0; i < n; ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            munmap(needle, n);
            return luaL_argerror(L, 1, "not hex");
        }
        needle[i] = (unsigned char)(hi << 4 | lo);
    }
    char* maps = read_maps();
    if (!maps) {
        munmap(needle, n);
        return luaL_error(L, "cannot read /proc/self/maps");
    }
    struct sigaction sa, old_segv, old_bus;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    lua_Integer found = 0, mappings = 0, bytes = 0;
    for (char* line = maps; line && *line;) {
        char* next = strchr(line, '\n');
        if (next) *next++ = 0;
        uintptr_t start, end;
        char perms[5];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &name_at) >= 3) {
            const char* name = name_at ? line + name_at : "";
            int skip = perms[0] != 'r' || (uintptr_t)needle == start ||
                       strncmp(name, "[vvar", 5) == 0 || strcmp(name, "[vsyscall]") == 0;
            long hits = skip ? -1 : scan_range(start, end, needle, n);
            if (hits >= 0) {
                found += hits;
                ++mappings;
                bytes += (lua_Integer)(end - start);
            }
        }
        line = next;
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    free(maps);
    memset(needle, 0, n);
    munmap(needle, n);
    lua_pushinteger(L, found);
    lua_pushinteger(L, mappings);
    lua_pushinteger(L, bytes);
    return 3;
}

int luaopen_memscan(lua_State* L) {
    static const luaL_Reg funcs[] = {{"count", count}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}
