-- mcptest.suite.schema: checks a loaded suite (mcptest.suite.load) before
-- anything is compiled, and collects every problem at once:
--   schema.check(suite) -> {error...}   (empty: the suite is well formed)
-- An error is { line =, column =, message = }; mcptest.suite formats them
-- as FILE:LINE:COL: message. The key names are DESIGN.md's "YAML suites";
-- docs/yaml.md documents each one.
local json = require("mcptest.json")

local M = {}

-- ===== vocabulary =====

M.SUITE_KEYS = { "name", "servers", "tests", "setup", "teardown" }
M.SERVER_KEYS = { "url", "command", "env", "cwd", "headers", "auth", "timeout", "tls",
                  "protocol", "fixture", "route" }
M.AUTH_KEYS = { "bearer_token_env", "oauth" }
M.OAUTH_KEYS = { "grant", "client_id", "client_secret_env", "client_metadata_url",
                 "private_key_env", "scope", "token_url", "no_browser", "dpop",
                 "assertion_env", "idp" }
M.IDP_KEYS = { "token_endpoint", "id_token_env", "client_id" }
M.TLS_KEYS = { "ca_file", "insecure", "cert_file", "key_file" }
M.FIXTURE_KEYS = { "auto_approve", "token_ttl", "config", "bearer_token_env" }
M.ACTIONS = { "tool", "request", "list", "read", "prompt", "complete" }
M.TEST_KEYS = { "name", "server", "tags", "skip", "only", "timeout", "retry", "tool", "args",
                "request", "params", "list", "read", "prompt", "complete", "expect",
                "steps", "lua" }
M.STEP_KEYS = { "id", "name", "server", "tool", "args", "request", "params", "list", "read",
                "prompt", "complete", "expect", "lua" }
M.EXPECT_KEYS = { "is_error", "text", "contains", "not_contains", "matches", "path", "schema",
                  "output_schema", "error", "max_ms", "count", "contains_tool", "snapshot" }
-- keys DESIGN.md names that this build does not compile yet: refused with
-- a clear message rather than accepted and ignored
M.NOT_YET = {}
M.LISTS = { tools = "list_tools", resources = "list_resources", prompts = "list_prompts",
            resource_templates = "list_resource_templates" }
M.GRANTS = { authorization_code = true, client_credentials = true, device_code = true,
             jwt_bearer = true }
M.PROTOCOLS = { auto = true, ["2026-07-28"] = true, ["2025-11-25"] = true, ["2025-06-18"] = true,
                ["2025-03-26"] = true, ["2024-11-05"] = true }
M.ROUTES = { ["/mcp/open"] = true, ["/mcp/bearer-token"] = true, ["/mcp/oauth"] = true,
             ["/legacy/sse"] = true }
M.PATH_CHECKS = { "equals", "exists", "length", "type", "matches" }
M.JSON_TYPES = { string = true, number = true, integer = true, boolean = true, null = true,
                 array = true, object = true }
-- keys that would hold a secret value, and the env form to use instead
M.SECRET_KEYS = { bearer_token = "bearer_token_env", token = "bearer_token_env",
                  access_token = "bearer_token_env", client_secret = "client_secret_env",
                  private_key = "private_key_env", assertion = "assertion_env",
                  id_token = "id_token_env", password = "an env var named by a *_env key" }

-- ===== helpers =====

local function kind(v)
  if v == json.null then return "null" end
  local t = type(v)
  if t == "table" then return json.is_array(v) and "list" or "mapping" end
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  return t
end
M.kind = kind

-- the set of a vocabulary list, made once per list
local sets = setmetatable({}, { __mode = "k" })
local function set_of(list)
  local s = sets[list]
  if s then return s end
  s = {}
  for _, k in ipairs(list) do s[k] = true end
  sets[list] = s
  return s
end

-- Levenshtein distance, for did-you-mean
local function distance(a, b)
  if #a > 40 or #b > 40 then return math.huge end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a:byte(i) == b:byte(j) and 0 or 1))
    end
    prev = cur
  end
  return prev[#b]
end

function M.suggest(word, choices)
  local best, bd = nil, math.huge
  for _, c in ipairs(choices) do
    local d = distance(tostring(word), c)
    if d < bd then best, bd = c, d end
  end
  if best and bd <= math.max(2, #tostring(word) // 3) then return best end
end

local function quoted_list(list)
  local out = {}
  for _, k in ipairs(list) do out[#out + 1] = k end
  return table.concat(out, ", ")
end

local ENV_NAME = "^[%a_][%w_]*$"
M.ENV_NAME = ENV_NAME
local LUA_KEYWORDS = set_of({ "and", "break", "do", "else", "elseif", "end", "false", "for",
  "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
  "true", "until", "while", "mcp", "c", "r", "server", "steps", "assert", "started" })

-- does a value look like a secret rather than an env-var name?
-- (a JWT, a known token prefix, or a long mixed-case string with digits:
-- env var names are words, usually upper case)
local TOKEN_PREFIXES = { "^gh[pousr]_", "^github_pat_", "^sk%-", "^xox[abprs]%-", "^AKIA[0-9A-Z]", "^glpat%-" }
local function looks_secret(s)
  if s:match("^ey[%w_-]+%.[%w_-]+%.") or s:match("%s") or #s > 64 then return true end
  for _, p in ipairs(TOKEN_PREFIXES) do if s:match(p) then return true end end
  return #s >= 20 and s:match("%l") ~= nil and s:match("%u") ~= nil and s:match("%d") ~= nil
end

-- ===== the checker =====

local Checker = {}
Checker.__index = Checker

function Checker:err(mark, fmt, ...)
  self.errors[#self.errors + 1] = { line = mark.line, column = mark.column,
                                    message = select("#", ...) > 0 and fmt:format(...) or fmt }
end

-- a key of t must be of one of the kinds given ("string", "integer",
-- "number" (integers too), "boolean", "list", "mapping"); returns the
-- value when it is, nil otherwise (absent or wrong, the latter reported)
function Checker:typed(t, key, where, ...)
  local v = t[key]
  if v == nil then return nil end
  local k = kind(v)
  local kinds = { ... }
  for _, want in ipairs(kinds) do
    if k == want or (want == "number" and k == "integer") then return v end
  end
  local names = {}
  for _, want in ipairs(kinds) do
    names[#names + 1] = ({ list = "a list", mapping = "a mapping", integer = "an integer" })[want]
      or ("a " .. want)
  end
  self:err(self.s:value(t, key), "`%s` in %s must be %s, got %s%s", key, where,
    table.concat(names, " or "), k == "integer" and "an " or "a ", k == "null" and "null (an empty value)" or k)
  return nil
end

function Checker:keys(t, allowed, where, extensions)
  local ok = set_of(allowed)
  local list
  for k in pairs(t) do
    -- x-... keys hold anchors to reuse (as docker-compose's extension fields)
    if not ok[k] and not (extensions and type(k) == "string" and k:match("^x%-")) then
      list = list or {}
      list[#list + 1] = k
    end
  end
  if not list then return end
  table.sort(list, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(list) do
    if type(k) ~= "string" then
      self:err(self.s:key(t, k), "%s has a key %s that is not a name", where, tostring(k))
    elseif not ok[k] then
      local mark = self.s:key(t, k)
      if M.SECRET_KEYS[k] and (where:match("auth") or where:match("oauth") or where:match("idp")) then
        self:err(mark, "`%s` in %s would hold a secret in the suite; put the value in an environment"
          .. " variable and name it with `%s: VAR` (only env-var names go in suites)", k, where, M.SECRET_KEYS[k])
      else
        local hint = M.suggest(k, allowed)
        self:err(mark, "unknown key `%s` in %s%s (allowed: %s)", k, where,
          hint and ("; did you mean `" .. hint .. "`?") or "", quoted_list(allowed))
      end
    end
  end
end

function Checker:mapping(parent, key, where)
  local v = parent[key]
  if v == nil then return nil end
  if kind(v) ~= "mapping" then
    self:err(self.s:value(parent, key), "%s must be a mapping, got %s", where,
      kind(v) == "null" and "null (an empty value)" or ("a " .. kind(v)))
    return nil
  end
  return v
end

-- a PCRE2 regular expression that compiles
function Checker:regex(t, key, where)
  local v = self:typed(t, key, where, "string")
  if v == nil then return end
  local ok, err = require("mcptest.core.regex").compile(v)
  if not ok then
    self:err(self.s:value(t, key), "`%s` in %s: %s", key, where, tostring(err.message or err))
  end
end

function Checker:env_name(t, key, where)
  local v = self:typed(t, key, where, "string")
  if v == nil then return end
  if looks_secret(v) or not v:match(ENV_NAME) then
    self:err(self.s:value(t, key), "`%s` in %s names an environment variable (like MCP_TOKEN),"
      .. " not a value: %s; export the secret into a variable and put its name here",
      key, where, looks_secret(v) and "this looks like a secret" or "this is not a variable name")
  end
end

function Checker:oauth(o, where)
  self:keys(o, M.OAUTH_KEYS, where)
  local grant = self:typed(o, "grant", where, "string")
  if o.grant == nil then
    self:err(self.s:at(o), "%s needs `grant` (%s)", where,
      "authorization_code, client_credentials, device_code or jwt_bearer")
  elseif grant and not M.GRANTS[grant] then
    local hint = M.suggest(grant, { "authorization_code", "client_credentials", "device_code", "jwt_bearer" })
    self:err(self.s:value(o, "grant"), "unknown grant `%s` in %s%s", grant, where,
      hint and ("; did you mean `" .. hint .. "`?") or
      " (authorization_code, client_credentials, device_code or jwt_bearer)")
  end
  for _, k in ipairs({ "client_id", "client_metadata_url", "scope", "token_url" }) do
    self:typed(o, k, where, "string")
  end
  for _, k in ipairs({ "no_browser", "dpop" }) do self:typed(o, k, where, "boolean") end
  for _, k in ipairs({ "client_secret_env", "private_key_env", "assertion_env" }) do
    self:env_name(o, k, where)
  end
  local idp = self:mapping(o, "idp", where .. ".idp")
  if idp then
    self:keys(idp, M.IDP_KEYS, where .. ".idp")
    self:typed(idp, "token_endpoint", where .. ".idp", "string")
    self:typed(idp, "client_id", where .. ".idp", "string")
    self:env_name(idp, "id_token_env", where .. ".idp")
  end
end

function Checker:auth(a, where)
  self:keys(a, M.AUTH_KEYS, where)
  if a.bearer_token_env ~= nil and a.oauth ~= nil then
    self:err(self.s:at(a), "%s holds both bearer_token_env and oauth; keep one", where)
  end
  local secret = false
  for k in pairs(a) do if M.SECRET_KEYS[k] then secret = true end end
  if a.bearer_token_env == nil and a.oauth == nil and not secret then
    self:err(self.s:at(a), "%s needs `bearer_token_env: VAR` or `oauth: {grant: ...}`", where)
  end
  self:env_name(a, "bearer_token_env", where)
  local o = self:mapping(a, "oauth", where .. ".oauth")
  if o then self:oauth(o, where .. ".oauth") end
end

function Checker:server(name, sv, allowed)
  local where = "servers." .. name
  self:keys(sv, allowed or M.SERVER_KEYS, where)
  local n = (sv.url ~= nil and 1 or 0) + (sv.command ~= nil and 1 or 0) + (sv.fixture ~= nil and 1 or 0)
  if n ~= 1 then
    self:err(self.s:at(sv), "%s needs exactly one of `url`, `command` (a list)%s%s",
      where, allowed and "" or " or `fixture: true`", n > 1 and " (it has several)" or "")
  end
  self:typed(sv, "url", where, "string")
  local cmd = self:typed(sv, "command", where, "list")
  if cmd then
    if #cmd == 0 then self:err(self.s:value(sv, "command"), "`command` in %s is empty", where) end
    for i, word in ipairs(cmd) do
      if type(word) ~= "string" and math.type(word) ~= "integer" then
        self:err(self.s:value(cmd, i), "`command` items in %s must be strings, item %d is a %s",
          where, i, kind(word))
      end
    end
  end
  for _, k in ipairs({ "env", "headers" }) do
    local m = self:mapping(sv, k, "`" .. k .. "` in " .. where)
    if m then
      for hk, hv in pairs(m) do
        if type(hv) ~= "string" and type(hv) ~= "number" and type(hv) ~= "boolean" then
          self:err(self.s:value(m, hk), "`%s.%s` in %s must be a plain value, got a %s", k, hk, where, kind(hv))
        elseif k == "headers" and type(hk) == "string" and hk:lower() == "authorization"
               and not tostring(hv):find("${", 1, true) then
          self:err(self.s:value(m, hk), "the Authorization header in %s holds a literal credential;"
            .. " write `Bearer ${VAR}` or use `auth: {bearer_token_env: VAR}`", where)
        end
      end
    end
  end
  if (sv.env ~= nil or sv.cwd ~= nil) and sv.command == nil then
    self:err(self.s:key(sv, sv.env ~= nil and "env" or "cwd"), "`env` and `cwd` in %s go with `command`", where)
  end
  self:typed(sv, "cwd", where, "string")
  self:typed(sv, "timeout", where, "number")
  local proto = self:typed(sv, "protocol", where, "string")
  if proto and not M.PROTOCOLS[proto] then
    self:err(self.s:value(sv, "protocol"), "unknown protocol `%s` in %s (auto, 2026-07-28, 2025-11-25,"
      .. " 2025-06-18, 2025-03-26 or 2024-11-05)", proto, where)
  end
  local tls = self:mapping(sv, "tls", "`tls` in " .. where)
  if tls then
    self:keys(tls, M.TLS_KEYS, where .. ".tls")
    for _, k in ipairs({ "ca_file", "cert_file", "key_file" }) do self:typed(tls, k, where .. ".tls", "string") end
    self:typed(tls, "insecure", where .. ".tls", "boolean")
  end
  local auth = self:mapping(sv, "auth", "`auth` in " .. where)
  if auth then self:auth(auth, where .. ".auth") end
  local fx = self:typed(sv, "fixture", where, "boolean", "mapping")
  if type(fx) == "table" then
    self:keys(fx, M.FIXTURE_KEYS, where .. ".fixture")
    self:typed(fx, "auto_approve", where .. ".fixture", "boolean")
    self:typed(fx, "token_ttl", where .. ".fixture", "number")
    self:typed(fx, "config", where .. ".fixture", "string", "mapping")
    self:env_name(fx, "bearer_token_env", where .. ".fixture")
  elseif fx == false then
    self:err(self.s:value(sv, "fixture"), "`fixture: false` in %s: remove it and give `url` or `command`", where)
  end
  local route = self:typed(sv, "route", where, "string")
  if route and sv.fixture == nil then
    self:err(self.s:key(sv, "route"), "`route` in %s goes with `fixture`", where)
  elseif route and not M.ROUTES[route] then
    self:err(self.s:value(sv, "route"), "unknown fixture route `%s` in %s (/mcp/open, /mcp/bearer-token,"
      .. " /mcp/oauth or /legacy/sse)", route, where)
  end
end

-- {{ steps.ID.result.path }} / {{ steps.ID.text }} references inside a
-- value; defined: id -> true for the steps before this one, later: id ->
-- mark of steps defined after it
function Checker:refs(v, parent, key, where, defined, later)
  if type(v) == "string" then
    if not v:find("{{", 1, true) then return end
    for inner in v:gmatch("{{(.-)}}") do
      local id, rest = inner:match("^%s*steps%.([%a_][%w_]*)(.-)%s*$")
      local mark = self.s:value(parent, key)
      if not id then
        self:err(mark, "unknown reference `{{%s}}` in %s; references read {{ steps.ID.result.PATH }}"
          .. " or {{ steps.ID.text }}", inner, where)
      elseif not defined[id] then
        if later[id] then
          self:err(mark, "`{{%s}}` in %s refers to step `%s`, which comes later (line %d);"
            .. " a step can use only the steps before it", inner, where, id, later[id].line)
        else
          local names = {}
          for k in pairs(defined) do names[#names + 1] = k end
          table.sort(names)
          local hint = M.suggest(id, names)
          self:err(mark, "`{{%s}}` in %s refers to step `%s`, which does not exist%s", inner, where, id,
            hint and ("; did you mean `" .. hint .. "`?") or
            (#names > 0 and (" (steps before it: " .. table.concat(names, ", ") .. ")") or " (no step before it has an id)"))
        end
      elseif not (rest == ".text" or rest == ".result" or rest:match("^%.result[%.%[]")) then
        self:err(mark, "`{{%s}}` in %s: after steps.%s comes .result (then a path like"
          .. " .content[0].text) or .text", inner, where, id)
      end
    end
  elseif type(v) == "table" then
    for k, x in pairs(v) do self:refs(x, v, k, where, defined, later) end
  end
end

function Checker:expect(e, where, action, args_where)
  self:keys(e, M.EXPECT_KEYS, where)
  for k, msg in pairs(M.NOT_YET) do
    if e[k] ~= nil then self:err(self.s:key(e, k), "%s (in %s)", msg, where) end
  end
  self:typed(e, "is_error", where, "boolean")
  self:typed(e, "text", where, "string", "number", "boolean")
  for _, k in ipairs({ "contains", "not_contains" }) do
    local v = self:typed(e, k, where, "string", "number", "list")
    if type(v) == "table" then
      for i, x in ipairs(v) do
        if type(x) ~= "string" and type(x) ~= "number" then
          self:err(self.s:value(v, i), "`%s` items in %s must be strings, item %d is a %s", k, where, i, kind(x))
        end
      end
    end
  end
  self:regex(e, "matches", where)
  local ms = self:typed(e, "max_ms", where, "number")
  if ms and ms <= 0 then self:err(self.s:value(e, "max_ms"), "`max_ms` in %s must be above 0", where) end
  local count = self:typed(e, "count", where, "integer")
  if count and action ~= "list" and action ~= "list_tools" then
    self:err(self.s:key(e, "count"), "`count` in %s counts the items of a `list:` action", where)
  end
  self:typed(e, "contains_tool", where, "string")
  local js = self:typed(e, "schema", where, "mapping", "boolean")
  if js ~= nil then
    local ok, why = require("mcptest.jsonschema").check(js)
    if not ok then self:err(self.s:value(e, "schema"), "`schema` in %s: %s", where, why) end
  end
  local os_ = self:typed(e, "output_schema", where, "boolean")
  if os_ ~= nil and action ~= "tool" then
    self:err(self.s:key(e, "output_schema"), "`output_schema` in %s goes with a `tool:` action", where)
  elseif os_ == false then
    self:err(self.s:value(e, "output_schema"), "`output_schema: false` in %s: remove the key instead", where)
  end
  local snap = self:typed(e, "snapshot", where, "boolean", "string")
  if snap == false then
    self:err(self.s:value(e, "snapshot"), "`snapshot: false` in %s: remove the key instead", where)
  end
  if e.contains_tool ~= nil and action ~= "list_tools" then
    self:err(self.s:key(e, "contains_tool"), "`contains_tool` in %s goes with `list: tools`", where)
  end
  local er = self:typed(e, "error", where, "mapping")
  if er then
    self:keys(er, { "code", "message_contains" }, where .. ".error")
    self:typed(er, "code", where .. ".error", "integer")
    self:typed(er, "message_contains", where .. ".error", "string")
    for _, k in ipairs({ "text", "contains", "not_contains", "matches", "is_error", "count", "contains_tool", "path", "snapshot",
                            "schema", "output_schema" }) do
      if e[k] ~= nil then
        self:err(self.s:key(e, k), "`%s` in %s checks a result, but `error` expects the request to fail", k, where)
      end
    end
  end
  local p = self:typed(e, "path", where, "mapping")
  if p then
    for q, want in pairs(p) do
      local mark = self.s:key(p, q)
      if type(q) ~= "string" or not q:match("^%$") then
        self:err(mark, "path `%s` in %s must start with $ (JSONPath, e.g. $.content[0].text)", tostring(q), where)
      else
        local ok, perr = pcall(require("mcptest.jsonpath").parse, q)
        if not ok then self:err(mark, "path `%s` in %s: %s", q, where, tostring(perr):gsub("^.-:%d+: ", "")) end
      end
      if kind(want) == "mapping" and next(want) ~= nil then
        self:keys(want, M.PATH_CHECKS, where .. ".path[" .. tostring(q) .. "]")
        self:regex(want, "matches", where .. ".path")
        self:typed(want, "exists", where .. ".path", "boolean")
        self:typed(want, "length", where .. ".path", "integer")
        local ty = self:typed(want, "type", where .. ".path", "string")
        if ty and not M.JSON_TYPES[ty] then
          self:err(self.s:value(want, "type"), "unknown JSON type `%s` (string, number, integer, boolean,"
            .. " null, array, object)", ty)
        end
      end
    end
  end
end

-- One test or step: its action, args, expect and lua. ctx: defined/later
-- step ids, the suite's servers.
function Checker:action(t, where, allowed, defined, later, servers, default_server, need_action)
  self:keys(t, allowed, where)
  local acts = {}
  for _, a in ipairs(M.ACTIONS) do if t[a] ~= nil then acts[#acts + 1] = a end end
  if #acts > 1 then
    self:err(self.s:key(t, acts[2]), "%s has several actions (%s); give one per test or step (use steps:)",
      where, table.concat(acts, ", "))
  end
  local act = acts[1]
  -- an unknown key that is a typo of an action is reported as such, once
  local typo = false
  for k in pairs(t) do
    if type(k) == "string" and not set_of(allowed)[k] and M.suggest(k, M.ACTIONS) then typo = true end
  end
  if not act and need_action and not typo then
    self:err(self.s:at(t), "%s needs an action: tool, request, list, read, prompt or complete%s",
      where, t.steps == nil and ", or steps, or lua" or "")
  end
  self:typed(t, "tool", where, "string")
  self:typed(t, "request", where, "string")
  self:typed(t, "read", where, "string")
  self:typed(t, "prompt", where, "string")
  local list = self:typed(t, "list", where, "string")
  local kind_of = act
  if list then
    if not M.LISTS[list] then
      local names = { "tools", "resources", "prompts", "resource_templates" }
      local hint = M.suggest(list, names)
      self:err(self.s:value(t, "list"), "unknown list `%s` in %s%s", list, where,
        hint and ("; did you mean `" .. hint .. "`?") or " (tools, resources, prompts or resource_templates)")
    end
    kind_of = list == "tools" and "list_tools" or "list"
  end
  if t.args ~= nil and t.tool == nil and t.prompt == nil then
    self:err(self.s:key(t, "args"), "`args` in %s goes with `tool` or `prompt`", where)
  end
  if t.params ~= nil and t.request == nil then
    self:err(self.s:key(t, "params"), "`params` in %s goes with `request`", where)
  end
  self:typed(t, "args", where, "mapping")
  self:typed(t, "params", where, "mapping", "list")
  local cp = self:typed(t, "complete", where, "mapping")
  if cp then
    self:keys(cp, { "prompt", "resource", "argument" }, where .. ".complete")
    if (cp.prompt == nil) == (cp.resource == nil) then
      self:err(self.s:at(cp), "`complete` in %s needs one of `prompt: NAME` or `resource: URI`", where)
    end
    local arg = self:typed(cp, "argument", where .. ".complete", "mapping")
    if cp.argument == nil then
      self:err(self.s:at(cp), "`complete` in %s needs `argument: {name: ..., value: ...}`", where)
    end
    self:typed(cp, "prompt", where .. ".complete", "string")
    self:typed(cp, "resource", where .. ".complete", "string")
    if arg then
      self:keys(arg, { "name", "value" }, where .. ".complete.argument")
      self:typed(arg, "name", where .. ".complete.argument", "string")
      self:typed(arg, "value", where .. ".complete.argument", "string", "number")
    end
  end
  for _, k in ipairs({ "args", "params", "read", "complete", "tool", "prompt" }) do
    if t[k] ~= nil then self:refs(t[k], t, k, where, defined, later) end
  end
  local sname = self:typed(t, "server", where, "string")
  if sname and not servers[sname] then
    local names = {}
    for k in pairs(servers) do names[#names + 1] = k end
    table.sort(names)
    -- a typo of a registered server's name is suggested too
    local all = { table.unpack(names) }
    local ok, reg = pcall(function() return require("mcptest.suite.registry").names() end)
    for _, k in ipairs(ok and reg or {}) do all[#all + 1] = k end
    local hint = M.suggest(sname, all)
    self:err(self.s:value(t, "server"), "unknown server `%s` in %s%s", sname, where,
      hint and ("; did you mean `" .. hint .. "`?") or
      (#names > 0 and (" (the suite defines: " .. table.concat(names, ", ") .. "; no registered server has that name)")
        or " (the suite defines no servers and no registered server has that name: mcptest server list)"))
  elseif not sname and not default_server and (act or t.lua) then
    local n = 0
    for _ in pairs(servers) do n = n + 1 end
    self:err(self.s:at(t), "%s needs `server:` (%s)", where,
      n == 0 and "the suite defines no servers" or "the suite defines several servers")
  end
  local e = self:typed(t, "expect", where, "mapping")
  if e then
    if not act then self:err(self.s:key(t, "expect"), "`expect` in %s needs an action to check", where)
    else self:expect(e, where .. ".expect", kind_of, where) end
  end
  self:typed(t, "lua", where, "string")
  return act
end

function Checker:steps(list, where, defined, servers, default_server)
  local later = {}
  for i, st in ipairs(list) do
    if kind(st) == "mapping" and type(st.id) == "string" then
      later[st.id] = later[st.id] or self.s:value(st, "id")
    end
  end
  for i, st in ipairs(list) do
    local sw = where .. "[" .. i .. "]"
    if kind(st) ~= "mapping" then
      self:err(self.s:value(list, i), "%s must be a mapping (a step), got a %s", sw, kind(st))
    else
      if type(st.id) == "string" then later[st.id] = nil end
      for k in pairs(defined) do later[k] = nil end
      local id = self:typed(st, "id", sw, "string")
      self:typed(st, "name", sw, "string")
      self:action(st, sw, M.STEP_KEYS, defined, later, servers, default_server, st.lua == nil)
      if id then
        if not id:match("^[%a_][%w_]*$") or LUA_KEYWORDS[id] then
          self:err(self.s:value(st, "id"), "step id `%s` in %s must be a name of letters, digits and _"
            .. " (not a Lua keyword or one of mcp, c, r, server, steps, assert, started)", id, sw)
        elseif defined[id] then
          self:err(self.s:value(st, "id"), "step id `%s` in %s is already used", id, sw)
        end
        defined[id] = true
      end
    end
  end
end

-- Is name a registered server? A registry file that does not load is
-- reported once, at the suite's top (its own FILE:LINE:COL lines follow).
function Checker:registered(name, doc)
  if type(name) ~= "string" then return false end
  local registry = require("mcptest.suite.registry")
  local reg, err = registry.load()
  if not reg then
    if not self.registry_reported then
      self.registry_reported = true
      self:err(self.s:at(doc), "the suite names a server it does not define, and the server registry"
        .. " does not load:\n%s", err)
    end
    return false
  end
  if reg.servers[name] then
    self.used_registered = self.used_registered or {}
    self.used_registered[name] = true
    return true
  end
  return false
end

function M.check(suite)
  local self = setmetatable({ s = suite, errors = {} }, Checker)
  local doc = suite.doc
  if kind(doc) ~= "mapping" then
    self:err(suite:at(doc), "a suite is a mapping with `servers:` and `tests:`, got %s",
      (doc == nil or doc == json.null) and "an empty file" or ("a " .. kind(doc)))
    return self.errors
  end
  self:keys(doc, M.SUITE_KEYS, "the suite", true)
  self:typed(doc, "name", "the suite", "string")
  -- the suite's servers; a name it does not define may be a registered
  -- server (mcptest.suite.registry), looked up when a test names it
  local servers = setmetatable({}, { __index = function(_, name) return self:registered(name, doc) end })
  local sv = self:mapping(doc, "servers", "`servers`")
  local n = 0
  if sv then
    for name, s in pairs(sv) do
      n = n + 1
      rawset(servers, name, true)
      if type(s) == "string" then
        -- `api: my-api`: the registered server my-api, under the suite's name api
        if not self:registered(s, doc) then
          local _, msg = require("mcptest.suite.registry").get(s)
          self:err(suite:value(sv, name), "servers.%s names the registered server `%s`, but %s", tostring(name), s,
            tostring(msg):gsub("^unknown server [^ ]+", "it is not registered"))
        end
      elseif kind(s) ~= "mapping" then
        self:err(suite:value(sv, name), "servers.%s must be a mapping (url:, command: or fixture:)"
          .. " or the name of a registered server, got %s",
          tostring(name), kind(s) == "null" and "an empty value" or ("a " .. kind(s)))
      else
        self:server(tostring(name), s)
      end
    end
  end
  local default_server = n == 1 and next(servers) or nil
  local defined = {}
  for _, part in ipairs({ "setup" }) do
    local l = self:typed(doc, part, "the suite", "list")
    if l then self:steps(l, part, defined, servers, default_server) end
  end
  local tests = self:typed(doc, "tests", "the suite", "list")
  if doc.tests == nil then
    self:err(suite:at(doc), "the suite needs `tests:`, a list of tests")
  end
  local names = {}
  for i, t in ipairs(tests or {}) do
    local where = "tests[" .. i .. "]"
    if kind(t) ~= "mapping" then
      self:err(suite:value(tests, i), "%s must be a mapping (a test), got %s", where,
        kind(t) == "null" and "an empty value" or ("a " .. kind(t)))
    else
      local name = self:typed(t, "name", where, "string")
      if t.name == nil then self:err(suite:at(t), "%s needs `name:`", where) end
      if name then
        where = where .. " (" .. name .. ")"
        if names[name] then
          self:err(suite:value(t, "name"), "two tests are named `%s` (the other at line %d)", name, names[name])
        end
        names[name] = suite:value(t, "name").line
      end
      local tags = self:typed(t, "tags", where, "string", "list")
      if type(tags) == "table" then
        for j, tag in ipairs(tags) do
          if type(tag) ~= "string" or not tag:match("^[%w_%-]+$") then
            self:err(suite:value(tags, j), "tags in %s are words of letters, digits, - and _", where)
          end
        end
      elseif type(tags) == "string" and not tags:match("^[%w_%-]+$") then
        self:err(suite:value(t, "tags"), "tags in %s are words of letters, digits, - and _ (a list for several)", where)
      end
      self:typed(t, "skip", where, "boolean", "string")
      self:typed(t, "only", where, "boolean")
      local to = self:typed(t, "timeout", where, "number")
      if to and to <= 0 then self:err(suite:value(t, "timeout"), "`timeout` in %s must be above 0", where) end
      local retry = self:typed(t, "retry", where, "integer")
      if retry and retry < 0 then
        self:err(suite:value(t, "retry"), "`retry` in %s is how many more attempts a failing test gets: 0 or more", where)
      end
      local steps = self:typed(t, "steps", where, "list")
      local tdefined = {}
      for k in pairs(defined) do tdefined[k] = true end
      local act = self:action(t, where, M.TEST_KEYS, tdefined, {}, servers, default_server,
        t.steps == nil and t.lua == nil)
      if steps then
        if act then
          self:err(suite:key(t, act), "%s has both `steps` and the action `%s`; move the action into a step", where, act)
        end
        -- the steps use the test's server unless they name their own
        local tserver = type(t.server) == "string" and servers[t.server] and t.server or default_server
        self:steps(steps, where .. ".steps", tdefined, servers, tserver)
      end
    end
  end
  local td = self:typed(doc, "teardown", "the suite", "list")
  if td then self:steps(td, "teardown", defined, servers, default_server) end
  table.sort(self.errors, function(a, b)
    if a.line ~= b.line then return a.line < b.line end
    return a.column < b.column
  end)
  return self.errors
end

-- ===== the server registry (mcptest.suite.registry) =====

-- A registry file (~/.mcptest/servers.yaml, a project's mcptest.yaml) is
-- `servers:` only, each entry a suite server without the fixture, plus
-- `store:` (where its secrets go). Checked by the suite's own server checks.
M.REGISTRY_KEYS = { "servers" }
M.REGISTRY_SERVER_KEYS = { "url", "command", "env", "cwd", "headers", "auth", "timeout", "tls",
                           "protocol", "store" }
M.STORES = { file = true, keychain = true }
M.SERVER_NAME = "^[%w][%w_.-]*$"

function M.check_registry(loaded)
  local self = setmetatable({ s = loaded, errors = {} }, Checker)
  local doc = loaded.doc
  if doc == nil or doc == json.null then return self.errors end -- an empty file: no servers
  if kind(doc) ~= "mapping" then
    self:err(loaded:at(doc), "a server registry is a mapping with `servers:`, got a %s", kind(doc))
    return self.errors
  end
  self:keys(doc, M.REGISTRY_KEYS, "the registry", true)
  local sv = self:mapping(doc, "servers", "`servers`")
  for name, s in pairs(sv or {}) do
    if type(name) ~= "string" or not name:match(M.SERVER_NAME) or name:match("^https?$") then
      self:err(loaded:key(sv, name), "server name `%s` must be a word of letters, digits, ., - and _"
        .. " (it stands where a URL would)", tostring(name))
    elseif kind(s) ~= "mapping" then
      self:err(loaded:value(sv, name), "servers.%s must be a mapping (url: or command:), got %s",
        name, kind(s) == "null" and "an empty value" or ("a " .. kind(s)))
    else
      self:server(name, s, M.REGISTRY_SERVER_KEYS)
      local store = self:typed(s, "store", "servers." .. name, "string")
      if store and not M.STORES[store] then
        self:err(loaded:value(s, "store"), "unknown store `%s` in servers.%s (file or keychain)", store, name)
      end
    end
  end
  table.sort(self.errors, function(a, b)
    if a.line ~= b.line then return a.line < b.line end
    return a.column < b.column
  end)
  return self.errors
end

return M
