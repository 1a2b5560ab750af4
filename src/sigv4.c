/* sigv4.c: placeholder opener; the real implementation replaces this file. */
#include "compat.h"
#include "core.h"

void acmpca_sigv4_open(lua_State *L)
{
    (void)L;
}
#include "sigv4.h"
int acmpca_sigv4_sign(const acmpca_sigv4_request *req, const acmpca_sigv4_config *cfg,
                      acmpca_sigv4_result *out, char *err, size_t errlen)
{
    (void)req; (void)cfg; (void)out; (void)err; (void)errlen;
    return -1;
}
