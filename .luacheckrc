std = "max"
max_line_length = 100
codes = true
files["spec/"] = { std = "+busted" }
files["lua/acmpca/transport/ngx.lua"] = { read_globals = { "ngx" } }
globals = {}
read_globals = { "ngx", "jit" }
exclude_files = { "build/", "spec/fixtures/" }
