rockspec_format = "3.0"
package = "lua-acmpca"
version = "0.2.0-1"
source = {
   url = "https://github.com/lua-acmpca/lua-acmpca/releases/download/v0.2.0/lua-acmpca-0.2.0.tar.gz",
   dir = "lua-acmpca-0.2.0",
}
description = {
   summary = "AWS Private CA (ACM PCA) permissions and AWS Signature V4 for Lua and OpenResty",
   detailed = [[
A C module (acmpca.core, over libcurl and OpenSSL) that binds the ACM PCA
permission operations (CreatePermission, ListPermissions, DeletePermission)
and the AWS Signature V4 primitives, and a thin Lua layer with
ensure_acm_renewal(ca_arn), the AWS credential chain, pagination, a fake
ACM PCA for specs and the REPL, an OpenResty transport and the `acmpca`
command.
]],
   homepage = "https://github.com/lua-acmpca/lua-acmpca",
   license = "MIT",
   labels = { "aws", "acm-pca", "sigv4", "openresty" },
}
-- lua-cjson from Debian's apt package works: tell luarocks so once, or it
-- reports "Missing dependencies for lua-acmpca: lua-cjson (not installed)"
-- (or fetches another one):
--   sudo luarocks --lua-version=5.4 config --scope system rocks_provided.lua-cjson 2.1.0-1
-- (--lua-version=5.1 for nginx's LuaJIT; see the README's "Install").
dependencies = {
   "lua >= 5.1",
   "lua-cjson",
}
external_dependencies = {
   CURL = { library = "curl" },   -- the header lives in a multiarch directory on Debian
   OPENSSL = { header = "openssl/evp.h", library = "crypto" },
   EXPAT = { header = "expat.h", library = "expat" },   -- STS answers are XML
}
build = {
   type = "builtin",
   modules = {
      ["acmpca.core"] = {
         sources = {
            "src/core.c", "src/error.c", "src/crypto.c", "src/crypto_lua.c", "src/sigv4.c",
            "src/sigv4_lua.c", "src/http.c", "src/http_lua.c", "src/multi.c",
            "src/multi_lua.c", "src/model.c", "src/model_gen.c",
            "src/model_lua.c", "src/validate.c", "src/json.c", "src/response.c", "src/answer.c",
            "src/endpoint.c", "src/arn.c", "src/strbuf.c", "src/clock.c", "src/client.c",
            "src/xml.c", "src/xml_lua.c", "src/fs.c", "src/fs_lua.c",
         },
         libraries = { "curl", "crypto", "expat", "pthread" },
         incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)", "$(EXPAT_INCDIR)" },
         libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)", "$(EXPAT_LIBDIR)" },
      },
      ["acmpca"] = "lua/acmpca/init.lua",
      ["acmpca.sigv4"] = "lua/acmpca/sigv4.lua",
      ["acmpca.client"] = "lua/acmpca/client.lua",
      ["acmpca.model"] = "lua/acmpca/model.lua",
      ["acmpca.renewal"] = "lua/acmpca/renewal.lua",
      ["acmpca.fleet"] = "lua/acmpca/fleet.lua",
      ["acmpca.identity"] = "lua/acmpca/identity.lua",
      ["acmpca.batch"] = "lua/acmpca/batch.lua",
      ["acmpca.pacing"] = "lua/acmpca/pacing.lua",
      ["acmpca.paginate"] = "lua/acmpca/paginate.lua",
      ["acmpca.json"] = "lua/acmpca/json.lua",
      ["acmpca.credentials"] = "lua/acmpca/credentials.lua",
      ["acmpca.credentials.role"] = "lua/acmpca/credentials/role.lua",
      ["acmpca.credentials.process"] = "lua/acmpca/credentials/process.lua",
      ["acmpca.credentials.sso"] = "lua/acmpca/credentials/sso.lua",
      ["acmpca.credentials.cache"] = "lua/acmpca/credentials/cache.lua",
      ["acmpca.sts"] = "lua/acmpca/sts.lua",
      ["acmpca.xml"] = "lua/acmpca/xml.lua",
      ["acmpca.settings"] = "lua/acmpca/settings.lua",
      ["acmpca.adaptive"] = "lua/acmpca/adaptive.lua",
      ["acmpca.config"] = "lua/acmpca/config.lua",
      ["acmpca.mock"] = "lua/acmpca/mock.lua",
      ["acmpca.mock.wire"] = "lua/acmpca/mock/wire.lua",
      ["acmpca.mock.validate"] = "lua/acmpca/mock/validate.lua",
      ["acmpca.mock.signature"] = "lua/acmpca/mock/signature.lua",
      ["acmpca.mock.sts"] = "lua/acmpca/mock/sts.lua",
      ["acmpca.mock.state"] = "lua/acmpca/mock/state.lua",
      ["acmpca.mock.faults"] = "lua/acmpca/mock/faults.lua",
      ["acmpca.mock.cas"] = "lua/acmpca/mock/cas.lua",
      ["acmpca.mock.ops"] = "lua/acmpca/mock/ops.lua",
      ["acmpca.mock.fleet"] = "lua/acmpca/mock/fleet.lua",
      ["acmpca.cli"] = "lua/acmpca/cli.lua",
      ["acmpca.cli.debug"] = "lua/acmpca/cli/debug.lua",
      ["acmpca.cli.fleet"] = "lua/acmpca/cli/fleet.lua",
      ["acmpca.cli.token"] = "lua/acmpca/cli/token.lua",
      ["acmpca.transport.ngx"] = "lua/acmpca/transport/ngx.lua",
      ["acmpca.url"] = "lua/acmpca/url.lua",
      ["acmpca.show"] = "lua/acmpca/show.lua",
      ["acmpca.retry"] = "lua/acmpca/retry.lua",
      ["acmpca.repl"] = "lua/acmpca/repl.lua",
      ["acmpca.serve"] = "lua/acmpca/serve.lua",
      ["acmpca.serve.handler"] = "lua/acmpca/serve/handler.lua",
   },
   install = {
      bin = { acmpca = "bin/acmpca" },
   },
}
test = {
   type = "command",
   command = "sh spec/run.sh",
}
