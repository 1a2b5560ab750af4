/*
 * fs.h: private files for acmpca.core: the AWS CLI's credential caches.
 *
 * Lua-free (fs_lua.c binds it).  Writes are atomic and private: missing
 * parent directories are made 0700, the data goes to a fresh temporary
 * file beside the target (O_EXCL|O_NOFOLLOW, 0600), is fsync'd and renamed
 * over the target.  Reads are bounded and refuse anything but a regular
 * file (a FIFO or a device planted in a cache directory cannot block or
 * flood the reader).  Errors are "acmpca: <path>: <what>: <strerror>".
 */
#ifndef ACMPCA_FS_H
#define ACMPCA_FS_H

#include <stddef.h>
#include "visibility.h"

/* Paths longer than this are refused; mkdir -p stops at this depth. */
#define ACMPCA_FS_PATH_MAX 4096
#define ACMPCA_FS_DEPTH_MAX 64

/* Results of acmpca_fs_read. */
#define ACMPCA_FS_OK 0
#define ACMPCA_FS_ERROR (-1)
#define ACMPCA_FS_MISSING (-2) /* ENOENT or ENOTDIR: "not there" */
#define ACMPCA_FS_TOO_BIG (-3) /* more than cap bytes */

/*
 * Creates the missing directories of dir (like mkdir -p, mode 0700).
 * Returns 0, or -1 with err set (naming the directory that failed).
 */
ACMPCA_HIDDEN int acmpca_fs_mkdirs(const char *dir, char *err, size_t errlen);

/*
 * Writes len bytes of data to path atomically, mode 0600, creating the
 * missing parent directories (0700).  Returns 0, or -1 with err set; a
 * temporary file left by a failure is removed.
 */
ACMPCA_HIDDEN int acmpca_fs_write_private(const char *path, const void *data, size_t len,
                                          char *err, size_t errlen);

/*
 * Reads the regular file path into buf (cap bytes): at most cap bytes are
 * accepted; *len gets the size read.  Returns ACMPCA_FS_OK, _MISSING,
 * _TOO_BIG or _ERROR (err set for all but OK).  Opened non-blocking, so a
 * FIFO is refused rather than waited on.
 */
ACMPCA_HIDDEN int acmpca_fs_read(const char *path, char *buf, size_t cap, size_t *len,
                                 char *err, size_t errlen);

#endif
