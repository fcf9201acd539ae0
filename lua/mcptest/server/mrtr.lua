-- mcptest.server.mrtr: asking the client something during a modern-era
-- request (multi-round-trip requests, SEP-2322; reference
-- mcp-2026-07-28.md section 5.2). A modern server may not send requests:
-- a handler's ctx:client_request ends the handler with an input_required
-- result instead, and the client retries the request with inputResponses
-- and the requestState it got. The handler then runs again from the
-- start; each ctx:client_request it makes, in order, is answered from
-- what the earlier rounds collected (kept in the requestState), so a
-- handler written for the legacy era (sampling, elicitation) serves both.
--   mrtr.ask(ctx, method, params) -> the client's answer (or raises the
--     signal that ends the round, or -32021 for an undeclared capability)
--   mrtr.ask_many(ctx, {{key=, method=, params=}, ...}) -> {key = answer}: several
--     questions in one round, under names of the caller's; a question whose
--     capability the client did not declare is left out (not asked, no -32021)
--   mrtr.is_signal(e)   mrtr.result(ctx, signal) -> the InputRequiredResult
-- The requestState is attacker input: HMAC-SHA256 signed with a key of
-- this process, bound to the method, the tool/prompt/resource name, the
-- caller (principal subject) and an expiry (MAX_AGE seconds).
local json = require("mcptest.json")
local crypto = require("mcptest.core.crypto")
local sys = require("mcptest.core.sys")
local protocol = require("mcptest.protocol")

local M = { MAX_AGE = 600 }

local sha256 = crypto.sha256
local KEY = crypto.random_bytes(32)
local function pad(byte)
  return (KEY .. string.rep("\0", 64 - #KEY)):gsub(".", function(c) return string.char(c:byte() ~ byte) end)
end
local IPAD, OPAD = pad(0x36), pad(0x5c)
local function hmac(msg) return sha256(OPAD .. sha256(IPAD .. msg)) end

local Signal = {}
function M.is_signal(e) return getmetatable(e) == Signal end

local function fail(code, message, data) error(require("mcptest.server.context").rpc_error(code, message, data), 0) end

local function binding(ctx)
  local p = ctx.params
  local name = p.name or p.uri
  return ctx.method, type(name) == "string" and name or "",
    ctx.principal and type(ctx.principal.subject) == "string" and ctx.principal.subject or ""
end

local function seal(ctx, answers)
  local m, n, s = binding(ctx)
  local payload = json.encode({ a = next(answers) and answers or json.object(), m = m, n = n, s = s,
                                e = math.floor(sys.time() + M.MAX_AGE) })
  return crypto.base64url_encode(payload) .. "." .. crypto.base64url_encode(hmac(payload))
end

-- What earlier rounds collected, from a verified requestState, plus this
-- round's inputResponses.
local function collected(ctx)
  local p = ctx.params
  local answers = {}
  local state = p.requestState
  if state ~= nil then
    local b64, sig
    if type(state) == "string" then b64, sig = state:match("^([%w_-]+)%.([%w_-]+)$") end
    local payload = b64 and crypto.base64url_decode(b64)
    local mac = sig and crypto.base64url_decode(sig)
    if not (payload and mac and crypto.equals(mac, hmac(payload))) then
      fail(protocol.INVALID_PARAMS, "Invalid params: requestState was not issued by this server (signature)")
    end
    local st = json.decode(payload)
    local m, n, s = binding(ctx)
    if st.m ~= m or st.n ~= n or st.s ~= s then
      fail(protocol.INVALID_PARAMS, "Invalid params: requestState belongs to another request or caller")
    end
    if type(st.e) ~= "number" or st.e < sys.time() then
      fail(protocol.INVALID_PARAMS, "Invalid params: requestState expired; send the request again without it")
    end
    for k, v in pairs(st.a) do answers[k] = v end
  end
  local responses = p.inputResponses
  if type(responses) == "table" then
    for k, v in pairs(responses) do answers[k] = v end -- extra keys are ignored when nothing asks
  end
  return answers
end

local function answers_of(ctx)
  local answers = ctx.answers
  if not answers then
    answers = collected(ctx)
    ctx.answers = answers
  end
  return answers
end

local function declared(ctx, method)
  local cap = protocol.INPUT_CAPABILITY[method]
  local caps = ctx.session.client_capabilities
  return not (cap and type(caps) == "table" and type(caps[cap]) ~= "table"), cap
end

function M.ask_many(ctx, list)
  local answers = answers_of(ctx)
  local out, missing = {}, {}
  for _, q in ipairs(list) do
    if declared(ctx, q.method) then
      -- an answer is a JSON object; anything else is asked again
      if type(answers[q.key]) == "table" then out[q.key] = answers[q.key] else missing[#missing + 1] = q end
    end
  end
  if #missing == 0 then return out end
  error(setmetatable({ requests = missing, answers = answers }, Signal), 0)
end

function M.ask(ctx, method, params)
  local answers = answers_of(ctx)
  local n = (ctx.asked or 0) + 1
  ctx.asked = n
  local key = "input_" .. n
  if answers[key] ~= nil then return answers[key] end
  local cap = protocol.INPUT_CAPABILITY[method]
  local caps = ctx.session.client_capabilities
  if cap and type(caps) == "table" and type(caps[cap]) ~= "table" then
    fail(protocol.MISSING_CLIENT_CAPABILITY, "Missing required client capability: " .. cap,
      { requiredCapabilities = { [cap] = json.object() } })
  end
  error(setmetatable({ key = key, method = method, params = params, answers = answers }, Signal), 0)
end

function M.result(ctx, sig)
  local requests = {}
  for _, q in ipairs(sig.requests or { sig }) do
    requests[q.key] = { method = q.method, params = q.params or json.object() }
  end
  return { resultType = "input_required", inputRequests = requests, requestState = seal(ctx, sig.answers) }
end

return M
