/* The keel-run <-> keel luad protocol, shared by the C client and the C++ server.
 *
 * The client connects to the server's unix stream socket and sends one request:
 *   magic "KEELRUN1" (8 bytes), u32 body length, body
 *   body: u32 umask, u32 argc, u32 envc, then length-prefixed strings (u32 length,
 *         bytes, no NUL): cwd, script, argv[argc], env[envc] ("NAME=value")
 * All integers are little-endian. The first sendmsg carries exactly three fds as
 * SCM_RIGHTS: the client's stdin, stdout and stderr. Who the client is comes from
 * the socket (SO_PEERCRED, SO_PEERGROUPS), never from the request.
 * The server never reads the request itself: a child forked ahead of time does,
 * after it has become the client (luad/child.h), exactly up to the request's end.
 * Afterwards every byte the client sends is a signal number to forward to the
 * script's process group. The server answers with one line and closes:
 *   "exit N\n" | "signal N\n"                   the script's end
 *   "killed CODE MESSAGE\n"                      stopped at a limit (wall clock: CODE 124,
 *                                                as timeout(1); CPU: 128 + the signal)
 *   "error CODE MESSAGE\n"                       refused (CODE: the client's exit code)
 */
#ifndef KEEL_LUAD_WIRE_H
#define KEEL_LUAD_WIRE_H

#define KEEL_RUN_MAGIC "KEELRUN1"
#define KEEL_RUN_MAGIC_LEN 8
#define KEEL_RUN_HEADER_LEN 12 /* magic + body length */
#define KEEL_RUN_DEFAULT_SOCKET "/run/keel/lua.sock"
#define KEEL_RUN_MAX_REPLY 512 /* longest reply line the server sends */

#endif
