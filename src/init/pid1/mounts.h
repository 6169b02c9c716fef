// The filesystems PID 1 needs before anything runs, and unmounting at the end.
#pragma once

namespace keel::init {

// Mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run and /tmp where
// nothing is mounted yet. A /proc that belongs to another PID namespace (init
// started by unshare --pid) is replaced. Failures are logged, never fatal.
void mount_early();

// True for the machine's own init, false inside a PID namespace (a container, a test).
bool in_initial_pid_namespace();

// Lazily unmounts everything but "/" (deepest first) and, for the machine's own init, remounts "/"
// read-only.
void unmount_all();

}  // namespace keel::init
