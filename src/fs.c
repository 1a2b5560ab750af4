/*
 * fs.c: private files for acmpca.core (see fs.h).
 *
 * Owns every file the module writes itself: the AWS CLI's credential and
 * SSO token caches under ~/.aws.  Nothing here knows Lua.  The write is the
 * usual atomic replace: a temporary file that cannot be a symlink planted
 * by someone else (O_CREAT|O_EXCL|O_NOFOLLOW), fsync, rename, fsync of the
 * directory.  A reader of the target sees the old file or the new one,
 * never half of one.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

#define TMP_ATTEMPTS 16

/* ------------------------------------------------------------ errors */

static void set_err(char *err, size_t errlen, const char *path, const char *what, int e)
{
    if (err == NULL || errlen == 0)
        return;
    if (e != 0)
        snprintf(err, errlen, "acmpca: %s: %s: %s", path, what, strerror(e));
    else
        snprintf(err, errlen, "acmpca: %s: %s", path, what);
}

/* ------------------------------------------------------------ directories */

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int acmpca_fs_mkdirs(const char *dir, char *err, size_t errlen)
{
    char buf[ACMPCA_FS_PATH_MAX + 1];
    size_t n = strlen(dir), i;
    int depth = 0;

    if (n == 0 || is_dir(dir))
        return 0;
    if (n > ACMPCA_FS_PATH_MAX) {
        set_err(err, errlen, "(directory)", "path too long", ENAMETOOLONG);
        return -1;
    }
    memcpy(buf, dir, n + 1);
    /* each prefix ending before a '/', then the whole path */
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue; /* "a//b" */
        if (++depth > ACMPCA_FS_DEPTH_MAX) {
            set_err(err, errlen, dir, "too many directory levels to create", 0);
            return -1;
        }
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            set_err(err, errlen, buf, "cannot create directory", e);
            return -1;
        }
        buf[i] = saved;
    }
    if (!is_dir(dir)) {
        set_err(err, errlen, dir, "exists and is not a directory", 0);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ writing */

/* Writes all of data to fd (retrying short writes and EINTR). */
static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A fresh temporary file in dir: its fd, its name in tmp; -1 on failure. */
static int open_tmp(const char *dir, const char *base, char *tmp, size_t tmplen)
{
    static unsigned counter;
    struct timespec ts;
    int i;

    for (i = 0; i < TMP_ATTEMPTS; i++) {
        unsigned c = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        clock_gettime(CLOCK_REALTIME, &ts);
        int n = snprintf(tmp, tmplen, "%s/.%s.%ld.%u%06lx.tmp", dir, base, (long)getpid(), c,
                         (unsigned long)(ts.tv_nsec & 0xffffff));
        if (n < 0 || (size_t)n >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1; /* errno is EEXIST */
}

/* fsync of a directory, so the rename survives a crash; best effort. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Splits path into its directory (into dir) and its last component. */
static const char *split_path(const char *path, char *dir, size_t dirlen)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL) {
        snprintf(dir, dirlen, ".");
        return path;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/name": the root */
    memcpy(dir, path, n);
    dir[n] = '\0';
    return slash + 1;
}

int acmpca_fs_write_private(const char *path, const void *data, size_t len, char *err,
                            size_t errlen)
{
    char dir[ACMPCA_FS_PATH_MAX + 1];
    char tmp[ACMPCA_FS_PATH_MAX + 64];
    size_t n = strlen(path);

    if (n == 0 || n > ACMPCA_FS_PATH_MAX) {
        set_err(err, errlen, n ? "(path)" : "(empty path)", "cannot write",
                n ? ENAMETOOLONG : ENOENT);
        return -1;
    }
    const char *base = split_path(path, dir, sizeof dir);
    if (*base == '\0') {
        set_err(err, errlen, path, "cannot write: the path names a directory", 0);
        return -1;
    }
    if (acmpca_fs_mkdirs(dir, err, errlen) != 0)
        return -1;

    int fd = open_tmp(dir, base, tmp, sizeof tmp);
    if (fd < 0) {
        set_err(err, errlen, path, "cannot create a temporary file beside it", errno);
        return -1;
    }
    const char *what = NULL;
    if (write_all(fd, data, len) != 0)
        what = "cannot write";
    else if (fsync(fd) != 0)
        what = "cannot sync";
    int e = errno;
    if (close(fd) != 0 && what == NULL) {
        what = "cannot write";
        e = errno;
    }
    if (what == NULL && rename(tmp, path) != 0) {
        what = "cannot replace";
        e = errno;
    }
    if (what != NULL) {
        unlink(tmp);
        set_err(err, errlen, path, what, e);
        return -1;
    }
    sync_dir(dir);
    return 0;
}

/* ------------------------------------------------------------ reading */

int acmpca_fs_read(const char *path, char *buf, size_t cap, size_t *len, char *err,
                   size_t errlen)
{
    struct stat st;
    size_t got = 0;
    int rc = ACMPCA_FS_OK;

    *len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        set_err(err, errlen, path, "cannot open", e);
        return (e == ENOENT || e == ENOTDIR) ? ACMPCA_FS_MISSING : ACMPCA_FS_ERROR;
    }
    if (fstat(fd, &st) != 0) {
        set_err(err, errlen, path, "cannot stat", errno);
        close(fd);
        return ACMPCA_FS_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, path, "not a regular file", 0);
        close(fd);
        return ACMPCA_FS_ERROR;
    }
    /* up to cap bytes, then one more byte tells a file that is too big */
    for (;;) {
        char extra;
        char *dst = got < cap ? buf + got : &extra;
        size_t want = got < cap ? cap - got : 1;
        ssize_t r = read(fd, dst, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            set_err(err, errlen, path, "cannot read", errno);
            rc = ACMPCA_FS_ERROR;
            break;
        }
        if (r == 0)
            break;
        if (got >= cap) {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "acmpca: %s: larger than %zu bytes", path, cap);
            rc = ACMPCA_FS_TOO_BIG;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    *len = rc == ACMPCA_FS_OK ? got : 0;
    return rc;
}
