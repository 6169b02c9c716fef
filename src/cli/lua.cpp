// keel lua [OPTIONS] [SCRIPT [ARGS...]]: run a Lua script with the keel library.
// Options stop at the script name, so the script's own arguments may start with '-'.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "base/log.h"
#include "cli/args.h"
#include "cli/verbs.h"
#include "lua/runner.h"

namespace keel::cli {
namespace {

constexpr const char* kHelp =
    "Usage: keel lua [OPTIONS] [SCRIPT [ARGS...]]\n"
    "\n"
    "Runs SCRIPT (\"-\" for standard input) with Lua 5.4 and the keel library\n"
    "(require \"keel\": loop, bus, sys, json, log). The main chunk runs as a task, so\n"
    "bus:request() and keel.sleep() work at top level; afterwards the event loop runs\n"
    "while subscriptions, timers, watches or waiting tasks remain. Works as a shebang:\n"
    "#!/usr/bin/keel lua  or  #!/usr/bin/keel-lua\n"
    "\n"
    "Options:\n"
    "  -e CODE      run CODE (before SCRIPT)\n"
    "  -l MODULE    require MODULE first and set the global MODULE\n"
    "  -i           a read-eval-print loop after the script (the default without one\n"
    "               when standard input is a terminal)\n"
    "  -E           ignore LUA_INIT\n"
    "  -v           print the version\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit codes: the script's os.exit code, 0 at its end, 1 when it raised an error,\n"
    "100 when it cannot be loaded (missing file, syntax error) or bad usage.\n";

}  // namespace

int lua_main(int argc, char** argv) {
    log::set_program("keel lua");
    lua::Script s;
    bool interactive = false, any = false;
    int i = 1;
    for (; i < argc; ++i) {
        const char* a = argv[i];
        if (a[0] != '-' || std::strcmp(a, "-") == 0) break;
        if (std::strcmp(a, "--") == 0) {
            ++i;
            break;
        }
        if (std::strcmp(a, "-h") == 0 || std::strcmp(a, "--help") == 0) {
            std::fputs(kHelp, stdout);
            return kExitOk;
        }
        if (std::strcmp(a, "-v") == 0 || std::strcmp(a, "--version") == 0) {
            std::printf("keel lua %s (%s)\n", KEEL_VERSION, LUA_RELEASE);
            return kExitOk;
        }
        if (std::strcmp(a, "-i") == 0) {
            interactive = true;
        } else if (std::strcmp(a, "-E") == 0) {
            s.honor_lua_init = false;
        } else if (std::strcmp(a, "-e") == 0 || std::strcmp(a, "-l") == 0) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "keel lua: %s needs an argument\n%s", a, kHelp);
                return kExitUsage;
            }
            if (a[1] == 'e') {
                if (!s.code.empty()) s.code += '\n';
                s.code += argv[++i];
                any = true;
            } else {
                s.require.emplace_back(argv[++i]);
            }
        } else {
            std::fprintf(stderr, "keel lua: unknown option '%s'\n%s", a, kHelp);
            return kExitUsage;
        }
    }
    if (i < argc) {
        s.path = argv[i++];
        for (; i < argc; ++i)
            s.args.emplace_back(argv[i]);
        any = true;
    }
    s.interactive = interactive || (!any && isatty(STDIN_FILENO));
    if (!any && !s.interactive) s.path = "-";

    lua_State* L = luaL_newstate();
    if (!L) {
        std::fprintf(stderr, "keel lua: cannot create a Lua state: out of memory\n");
        return kExitTemporary;
    }
    lua::open_libs(L);
    int rc = lua::run(L, s);
    lua_close(L);
    return rc;
}

}  // namespace keel::cli
