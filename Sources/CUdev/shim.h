// CUdev: libudev for the media guard, plus the two block-device ioctls it needs.
//
// Why the shims exist: ioctl(2) is variadic and BLKROSET/BLKROGET are function-like macros
// (_IO(0x12, 93)), neither of which Swift can import; these static inline wrappers give Swift a
// typed, non-variadic call. They return what ioctl returns (-1 with errno set on failure) so the
// caller's EINTR-retrying syscall helper can handle them like any other system call.
#ifndef CUDEV_SHIM_H
#define CUDEV_SHIM_H

#include <libudev.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#pragma clang assume_nonnull begin

/// Sets (readOnly != 0) or clears the block device's read-only flag (BLKROSET; needs CAP_SYS_ADMIN).
static inline int cudev_blk_set_read_only(int fd, int readOnly) {
    int value = readOnly ? 1 : 0;
    return ioctl(fd, BLKROSET, &value);
}

/// Reads the block device's read-only flag into *readOnly (BLKROGET).
static inline int cudev_blk_get_read_only(int fd, int *readOnly) {
    return ioctl(fd, BLKROGET, readOnly);
}

#pragma clang assume_nonnull end

#endif
