--- acmpca.settings: the client settings the AWS SDKs read from the
-- environment and the shared config file, each with where it came from,
-- and the URLs of the other services the library calls (STS, the SSO
-- portal) by botocore's endpoint rule sets.
--
--    local settings = require "acmpca.settings"
--    local s, err = settings.load{ profile = "dev", getenv = os.getenv }
--    s.retry_mode, s.from.retry_mode     --> "adaptive", "AWS_RETRY_MODE"
--    s:endpoint_url("acm-pca")           --> url, where | nil (none) | nil, err
--    settings.service_url("sts", "eu-west-1", s)  --> "https://sts.eu-west-1.amazonaws.com"
--
-- Order: the caller's explicit options win (opts.given; acmpca.client.new
-- checks them), then the environment, then the selected profile (config file
-- overlaid by the credentials file, as botocore reads it), then the
-- default.  Settings, environment variable, profile key, default:
--
--    max_attempts            AWS_MAX_ATTEMPTS            max_attempts   3 (legacy: 5)
--    retry_mode              AWS_RETRY_MODE              retry_mode     standard
--    use_fips_endpoint       AWS_USE_FIPS_ENDPOINT       (same)         false
--    use_dualstack_endpoint  AWS_USE_DUALSTACK_ENDPOINT  (same)         false
--    ca_bundle               AWS_CA_BUNDLE               ca_bundle      none
--    sts_regional_endpoints  AWS_STS_REGIONAL_ENDPOINTS  (same)         regional
--    ignore_configured_endpoint_urls  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS  (same)  false
--
-- retry_mode is standard, adaptive (standard plus acmpca.adaptive's
-- client-side rate limiter) or legacy, which here is standard with
-- botocore's legacy default of 5 attempts.  Booleans are "true" or
-- "false" in any case.  An invalid value is an error naming its place:
-- `AWS_RETRY_MODE: expected standard, adaptive or legacy, got "fast"`,
-- `max_attempts in profile dev (/home/u/.aws/config): expected ...`.
-- A config file that cannot be parsed is left to the credential chain to
-- report (its settings count as absent here), as acmpca.new did before.
--
-- @module acmpca.settings

local config = require "acmpca.config"
local url_mod = require "acmpca.url"

local type = type
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local getmetatable = getmetatable
local error = error
local io_open = io.open
local str_format = string.format
local str_lower = string.lower
local str_upper = string.upper
local str_gsub = string.gsub
local str_match = string.match
local str_sub = string.sub
local str_find = string.find


local _M = { _VERSION = "0.2.0" }

local MAX_ECHO = 64 -- bytes of a bad value repeated in a message


-- ---------------------------------------------------------------------
-- values and their places
-- ---------------------------------------------------------------------

local function quote(v)
    if #v > MAX_ECHO then
        v = str_sub(v, 1, MAX_ECHO) .. "..."
    end
    return str_format("%q", v)
end


local function trim(v)
    return str_match(v, "^%s*(.-)%s*$")
end


-- Checkers: value (a string) -> the setting's value, or nil.
local function integer_1_100(v)
    local n = str_match(v, "^%d+$") and tonumber(v)
    if n and n >= 1 and n <= 100 then
        return n
    end
    return nil
end


local function boolean(v)
    local l = str_lower(v)
    if l == "true" then
        return true
    elseif l == "false" then
        return false
    end
    return nil
end


local function one_of(list)
    local set = {}
    for _, k in ipairs(list) do
        set[k] = true
    end
    return function(v)
        if set[v] then
            return v
        end
        return nil
    end
end


-- The settings load resolves: name (also the profile key), environment
-- variable, checker, what the checker wants (for messages), default.
-- ca_bundle is resolved after them (a file name, checked for reading).
local SETTINGS = {
    { "retry_mode", "AWS_RETRY_MODE", one_of{ "standard", "adaptive", "legacy" },
      "standard, adaptive or legacy", "standard" },
    { "max_attempts", "AWS_MAX_ATTEMPTS", integer_1_100, "an integer from 1 to 100", 3 },
    { "use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT", boolean, "true or false", false },
    { "use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT", boolean, "true or false", false },
    { "sts_regional_endpoints", "AWS_STS_REGIONAL_ENDPOINTS", one_of{ "regional", "legacy" },
      "regional or legacy", "regional" },
    { "ignore_configured_endpoint_urls", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", boolean,
      "true or false", false },
}

-- botocore's legacy retry mode makes 5 attempts unless told otherwise
local LEGACY_MAX_ATTEMPTS = 5


-- The place of a profile key: "key in profile P (file)", the file being
-- the one the merged value came from (the credentials file wins).
local function profile_place(st, key, section)
    local path = st.config_path or "~/.aws/config"
    if not section and st.credentials and st.credentials[key] ~= nil then
        path = st.credentials_path or "~/.aws/credentials"
    end
    if section then
        return str_format("%s in [services %s] (%s)", key, section, path)
    end
    return str_format("%s in profile %s (%s)", key, st.profile, path)
end


-- The raw value of a setting and its place, or nil: env, then profile.
local function raw(self, env_name, key)
    local v = self._env(env_name)
    if v ~= nil then
        return trim(v), env_name
    end
    v = self._profile[key]
    if v ~= nil then
        return v, profile_place(self._st, key)
    end
    return nil
end


local function bad(self, place, what, v)
    local got = type(v) == "table" and "a nested section" or quote(v)
    return nil, config.new_error("ConfigError",
        str_format("%s: %s: expected %s, got %s", self.caller, place, what, got))
end


-- A ~ at the front of a file name is the home directory.
local function expand_user(path, home)
    if (path == "~" or str_sub(path, 1, 2) == "~/") and home then
        return home .. str_sub(path, 2)
    end
    return path
end


local function readable(path)
    local f = io_open(path, "rb")
    if not f then
        return false
    end
    f:close()
    return true
end


local function resolve_ca_bundle(self, opts)
    local v, place = raw(self, "AWS_CA_BUNDLE", "ca_bundle")
    if v == nil then
        return true
    end
    if type(v) ~= "string" or v == "" or str_find(v, "\0", 1, true) then
        return bad(self, place, "a file name", v)
    end
    local path = expand_user(v, config.home(opts))
    if not readable(path) then
        return nil, config.new_error("ConfigError",
            str_format("%s: %s: cannot read %s", self.caller, place, quote(path)))
    end
    self.ca_bundle, self.from.ca_bundle = path, place
    return true
end


local function resolve_all(self, opts)
    local given = opts.given or {}
    for _, d in ipairs(SETTINGS) do
        local name, env_name, check, what, default = d[1], d[2], d[3], d[4], d[5]
        if given[name] ~= nil then
            self[name], self.from[name] = given[name], "option"
        else
            local v, place = raw(self, env_name, name)
            if v == nil then
                if name == "max_attempts" and self.retry_mode == "legacy" then
                    default = LEGACY_MAX_ATTEMPTS
                end
                self[name], self.from[name] = default, "default"
            else
                local val
                if type(v) == "string" then
                    val = check(v)
                end
                if val == nil then
                    return bad(self, place, what, v)
                end
                self[name], self.from[name] = val, place
            end
        end
    end
    if given.ca_bundle ~= nil then
        self.ca_bundle, self.from.ca_bundle = given.ca_bundle, "option"
        return true
    end
    return resolve_ca_bundle(self, opts)
end


-- ---------------------------------------------------------------------
-- endpoint URLs configured per service
-- ---------------------------------------------------------------------

local methods = {}
local settings_mt = { __index = methods }


-- "acm-pca" / "ACM PCA" -> "ACM_PCA" (the variable's suffix) and "acm-pca"
-- (the key in a [services] section), as the SDKs derive them from the
-- service id.
local function service_names(service)
    local env_suffix = str_gsub(str_upper(service), "[ %-]", "_")
    local key = str_gsub(str_lower(service), " ", "-")
    return env_suffix, key
end


local function check_url(self, v, place)
    if type(v) ~= "string" then
        return bad(self, place, "an http(s) URL", v)
    end
    local u, why = url_mod.parse(v)
    if not u then
        -- the URL is not repeated: it may hold a token
        return nil, config.new_error("ConfigError",
            str_format("%s: %s: expected an http(s) URL (%s)", self.caller, place, tostring(why)))
    end
    return v, place
end


--- s:endpoint_url(service) -> url, where | nil (none configured) | nil, err.
-- service: "acm-pca", "sts", "sso" (or any service id).  The SDKs' order:
-- nothing when ignore_configured_endpoint_urls is true; else
-- AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the endpoint_url of the
-- service's sub-section in the profile's `services` section, the
-- profile's endpoint_url.
function methods.endpoint_url(self, service)
    if type(service) ~= "string" or service == "" then
        error("acmpca.settings: endpoint_url: service: expected a service id", 2)
    end
    if self.ignore_configured_endpoint_urls then
        return nil
    end
    local env_suffix, key = service_names(service)
    local name = "AWS_ENDPOINT_URL_" .. env_suffix
    local v = self._env(name)
    if v ~= nil then
        return check_url(self, v, name)
    end
    v = self._env("AWS_ENDPOINT_URL")
    if v ~= nil then
        return check_url(self, v, "AWS_ENDPOINT_URL")
    end
    local p, st = self._profile, self._st
    local section_name = p.services
    if type(section_name) == "string" and section_name ~= "" then
        local section = st.services and st.services[section_name]
        local sub = type(section) == "table" and section[key]
        if type(sub) == "table" and sub.endpoint_url ~= nil then
            return check_url(self, sub.endpoint_url,
                             profile_place(st, key .. ".endpoint_url", section_name))
        end
    end
    if p.endpoint_url ~= nil then
        return check_url(self, p.endpoint_url, profile_place(st, "endpoint_url"))
    end
    return nil
end


--- settings.load(opts) -> s | nil, err.  opts: profile, getenv, home (as
-- acmpca.config.load), loaded (a config.load result to reuse), caller
-- (the messages' prefix, default "acmpca") and given (values the caller
-- was given explicitly, by setting name: taken as they are, from
-- "option", and their environment and profile values not read).  s has retry_mode,
-- max_attempts, use_fips_endpoint, use_dualstack_endpoint, ca_bundle (a
-- readable file name, ~ expanded, or nil), sts_regional_endpoints,
-- ignore_configured_endpoint_urls, from (each one's place: the variable,
-- "key in profile P (file)" or "default"), profile, and the method
-- endpoint_url.  err is a ConfigError naming the place of the bad value.
function _M.load(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        error("acmpca.settings.load: opts: expected a table, got " .. type(opts), 2)
    end
    local st = opts.loaded
    if type(st) ~= "table" then
        st = config.load{ profile = opts.profile, getenv = opts.getenv, home = opts.home }
        -- a file that cannot be parsed: the credential chain reports it
        st = st or { profile = opts.profile or "default", merged = {}, services = {} }
    end
    local self = setmetatable({
        caller = opts.caller or "acmpca",
        profile = st.profile,
        from = {},
        _env = config.env_reader(opts),
        _profile = st.merged or {},
        _st = st,
    }, settings_mt)
    local ok, err = resolve_all(self, opts)
    if not ok then
        return nil, err
    end
    return self
end


-- ---------------------------------------------------------------------
-- STS and the SSO portal (endpoint-rule-set-1.json of each)
-- ---------------------------------------------------------------------

-- partitions.json: the region prefix selecting a partition (the first
-- match wins; aws takes the rest), its DNS suffixes, dual-stack support.
-- Every partition has FIPS endpoints.  The same table as src/endpoint.c.
local PARTITIONS = {
    { "cn-", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", true },
    { "us-gov-", "aws-us-gov", "amazonaws.com", "api.aws", true },
    { "us-iso-", "aws-iso", "c2s.ic.gov", "c2s.ic.gov", false },
    { "us-isob-", "aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov", false },
}
local AWS = { "", "aws", "amazonaws.com", "api.aws", true }

-- The regions STS's rule set sends to the global endpoint when
-- sts_regional_endpoints is legacy (AWS::STS::UseGlobalEndpoint).
local STS_GLOBAL = {}
for _, r in ipairs{ "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
                    "aws-global", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1",
                    "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
                    "us-west-1", "us-west-2" } do
    STS_GLOBAL[r] = true
end
local STS_GLOBAL_URL = "https://sts.amazonaws.com"

-- The host's first label: { plain, FIPS }.
local PREFIX = {
    sts = { "sts", "sts-fips" },
    sso = { "portal.sso", "portal.sso-fips" },
}


local function partition_of(region)
    for _, p in ipairs(PARTITIONS) do
        local pfx = p[1]
        if #region > #pfx and str_sub(region, 1, #pfx) == pfx then
            return p
        end
    end
    return AWS
end


-- core's rule (src/endpoint.c acmpca_region_valid): 1 to 63 of [a-z0-9-],
-- no '-' at either end.
local function region_valid(r)
    return type(r) == "string" and #r >= 1 and #r <= 63 and str_find(r, "^[a-z0-9-]+$") ~= nil
        and str_sub(r, 1, 1) ~= "-" and str_sub(r, -1) ~= "-"
end
_M.region_valid = region_valid


-- The rule set's URL for service in region (a valid name), or nil, why.
local function rule_set_url(service, region, fips, dual, regional)
    local p = partition_of(region)
    local names = PREFIX[service]
    if service == "sts" and not regional and not fips and not dual and STS_GLOBAL[region] then
        return STS_GLOBAL_URL
    end
    if dual and not p[5] then
        if fips then
            return nil, "FIPS and dual-stack are enabled, but this partition does not support "
                .. "one or both"
        end
        return nil, "dual-stack is enabled but this partition does not support it"
    end
    local label = names[fips and 2 or 1]
    if fips and not dual and service == "sts" and p[2] == "aws-us-gov" then
        label = names[1] -- GovCloud's STS FIPS endpoint is the plain name
    end
    if service == "sts" and region == "aws-global" and not fips and not dual then
        return STS_GLOBAL_URL
    end
    return "https://" .. label .. "." .. region .. "." .. (dual and p[4] or p[3])
end


-- s for service_url: a settings object, or options for settings.load.
local function as_settings(s)
    if getmetatable(s) == settings_mt then
        return s
    end
    return _M.load(s)
end


--- settings.service_url(service, region, s) -> url, where | nil, err.
-- service: "sts" or "sso" (the SSO portal); region may be nil (STS then
-- takes aws-global, as botocore does); s: a settings object from
-- settings.load, or options for it (profile, getenv, home, loaded).  An
-- endpoint_url configured for the service wins (where: its place);
-- else the rule set's URL for the partition, FIPS and dual-stack, and for
-- STS with sts_regional_endpoints = legacy the global endpoint in the
-- regions that had it (where: "derived").  err: a bad setting, an invalid
-- region name, no region for SSO, or a partition without the variant.
function _M.service_url(service, region, s)
    if not PREFIX[service] then
        error("acmpca.settings.service_url: service: expected \"sts\" or \"sso\", got "
              .. tostring(service), 2)
    end
    if region ~= nil and type(region) ~= "string" then
        error("acmpca.settings.service_url: region: expected a string or nil, got "
              .. type(region), 2)
    end
    local err
    s, err = as_settings(s or {})
    if not s then
        return nil, err
    end
    local url, where = s:endpoint_url(service)
    if url or where then
        return url, where
    end
    if region == nil or region == "" then
        if service == "sso" then
            return nil, config.new_error("ConfigError",
                s.caller .. ": no region for the SSO portal (set sso_region)")
        end
        region = "aws-global"
    end
    if not region_valid(region) then
        return nil, config.new_error("ConfigError", str_format(
            "%s: %s: region: expected a region name such as \"us-east-1\", got %s",
            s.caller, service, quote(region)))
    end
    local why
    url, why = rule_set_url(service, region, s.use_fips_endpoint, s.use_dualstack_endpoint,
                            s.sts_regional_endpoints == "regional")
    if not url then
        return nil, config.new_error("ConfigError", str_format("%s: %s: %s (region %s)",
            s.caller, service, why, region))
    end
    return url, "derived"
end


-- exposed for the specs (the partition table, the legacy global regions)
_M._private = { partition_of = partition_of, STS_GLOBAL = STS_GLOBAL }

return _M
