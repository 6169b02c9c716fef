// Diagnostics to stderr, prefixed with the program name: "keel bus: warning: ...".
#pragma once

#include <cstddef>

#include "base/result.h"

namespace keel {
class LineWriter;
}

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

// From now on stderr is written through a LineWriter of `capacity` bytes (see
// line_writer.h): never blocking, what does not fit dropped and counted. keel init
// uses it (PID 1 must never wait for a console or a pipe nobody reads). Every other
// program keeps one blocking write(2) per line: its stderr is a pipe keel init
// drains or a terminal, where waiting is back-pressure and not a hang, and an
// error a command prints before it exits must never be dropped. Called again
// (PID 1, once /proc is mounted) it picks the mode anew, keeping what waits.
Status use_line_writer(size_t capacity);
// The writer stderr goes through, or nullptr (blocking writes).
LineWriter* line_writer();

}  // namespace keel::log
