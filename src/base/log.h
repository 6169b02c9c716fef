// Diagnostics to stderr, prefixed with the program name: "keel bus: warning: ...".
#pragma once

namespace keel::log {

enum class Level { kDebug, kInfo, kWarning, kError, kFatal };

// `name` must remain live for the life of the process (a string literal).
void set_program(const char* name);
void set_level(Level level);
bool enabled(Level level);

void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// "keel bus: fatal: ..." — the program is about to exit; the caller still decides the code.
void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace keel::log
