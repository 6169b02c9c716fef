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
// would leave: /bin/sh -> busybox when the image has busybox and no other shell.
Status put_finishing_links(Tree& tree);

}  // namespace keel::image
