// The skeleton every image starts from: merged /usr (/bin -> usr/bin, ...), the
// mount points keel init fills (/proc, /sys, /dev, /run, /tmp), FHS dirs with
// their conventional modes, and /init -> usr/bin/keel (keel acts as init when
// invoked by that name).
#pragma once

#include "base/result.h"
#include "image/tree.h"

namespace keel::image {

Status put_base_skeleton(Tree& tree);
// Links packages do not bring: /sbin/modprobe -> keel (the kernel's module
// requests) unless a package has one, and what busybox's maintainer scripts
// would leave: /bin/sh -> busybox when the image has busybox and no other shell,
// and with `applets` a /usr/bin/NAME -> busybox link for each applet of the
// image's busybox that no file of the image already provides (`busybox --install
// -s`, all in /usr/bin under merged /usr). Left out: init, linuxrc, halt and
// reboot (they signal PID 1 the way busybox init expects; keel init takes
// SIGTERM as poweroff: `keel reboot` reboots). Returns how many applet links
// were added.
Result<size_t> put_finishing_links(Tree& tree, bool applets);

}  // namespace keel::image
