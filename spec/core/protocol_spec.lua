-- mcptest.protocol's header values of the 2026-07-28 era (Mcp-Name,
-- Mcp-Param-*): plain visible ASCII as it is, the rest as =?base64?...?=,
-- the same after the encodings are kept for reuse.
local protocol = require("mcptest.protocol")
local crypto = require("mcptest.core.crypto")

describe("mcptest.protocol header values", function()
  local function expected(v)
    v = tostring(v)
    if v:find("^[\33-\126][\32-\126]*$") and not v:find(" $") and not v:find("^=%?") then return v end
    return "=?base64?" .. crypto.base64_encode(v) .. "?="
  end

  it("keeps plain ASCII and encodes the rest, on first use and when kept", function()
    local cases = { "echo", "file:///a b.txt", "z\u{fc}rich", " lead", "trail ", "=?base64?x?=", "tab\there", "" }
    for _ = 1, 2 do -- the second round reads the kept encodings
      for _, v in ipairs(cases) do assert.are.equal(expected(v), protocol.encode_header(v), v) end
    end
    assert.are.equal("echo", protocol.encode_header("echo"))
    assert.are.equal("=?base64?" .. crypto.base64_encode("z\u{fc}rich") .. "?=", protocol.encode_header("z\u{fc}rich"))
    assert.are.equal("42", protocol.encode_header(42))
    assert.are.equal("true", protocol.encode_header(true))
  end)

  it("stays right past the 512 encodings it keeps", function()
    for i = 1, 1500 do
      local v = (i % 2 == 0) and ("tool-" .. i) or ("t\u{e9}" .. i)
      assert.are.equal(expected(v), protocol.encode_header(v))
      assert.are.equal(expected("echo"), protocol.encode_header("echo"))
    end
  end)
end)
