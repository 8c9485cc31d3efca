// CUdev: libudev for the media guard, plus the two block-device ioctls it needs.
//
// Why the shims exist: ioctl(2) is variadic and BLKROSET/BLKROGET are function-like macros
// (_IO(0x12, 93)), neither of which Swift can import; these static inline wrappers give Swift a
// typed, non-variadic call. They return what ioctl returns (-1 with errno set on failure) so the
// caller's EINTR-retrying syscall helper can handle them like any other system call.
// The posture checks' clock probe also reads adjtimex(2) through here: glibc's sys/timex.h is not
// in Swift's Glibc module, and including it here would move struct timeval into this module. So
// struct timex is mirrored (64-bit glibc layout, checked by _Static_assert) and the real symbol
// bound by an asm label. This is the agent's one C module (STYLE: C only in CUdev and CPAM).
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

/// glibc's struct timex on LP64 (bits/timex.h): 208 bytes.
struct cudev_timex {
    unsigned int modes;
    long offset, freq, maxerror, esterror;
    int status;
    long constant, precision, tolerance;
    struct { long tv_sec, tv_usec; } time;
    long tick, ppsfreq, jitter;
    int shift;
    long stabil, jitcnt, calcnt, errcnt, stbcnt;
    int tai;
    int reserved[11];
};
_Static_assert(sizeof(long) != 8 || sizeof(struct cudev_timex) == 208, "struct timex layout (LP64 glibc)");

extern int cudev_adjtimex(struct cudev_timex *info) __asm__("adjtimex");

#define CUDEV_STA_UNSYNC 0x0040
#define CUDEV_TIME_ERROR 5

/// adjtimex(2) in read-only mode (modes = 0): the kernel clock's state and status flags. Returns
/// the clock state (TIME_ERROR while unsynchronised) or -1 with errno set; *unsynchronised is set
/// from STA_UNSYNC.
static inline int cudev_clock_state(long *maxError, long *estimatedError, int *unsynchronised) {
    struct cudev_timex info = {0};
    int state = cudev_adjtimex(&info);
    if (state < 0) return state;
    *maxError = info.maxerror;
    *estimatedError = info.esterror;
    *unsynchronised = (info.status & CUDEV_STA_UNSYNC) != 0 || state == CUDEV_TIME_ERROR;
    return state;
}

#pragma clang assume_nonnull end

#endif
