-- mcptest.transport.sse: an incremental Server-Sent Events parser
-- (WHATWG HTML "Server-sent events", as MCP's Streamable HTTP uses it).
--   local p = sse.new(function(data, event_type, id, ctx) ... end[, ctx[, max_event]])
--   p:feed(chunk) -> true | nil, err       -- any split, LF, CRLF or CR lines
--   p:finish() -> true when the stream ended inside an event (cut mid-event)
--   p.last_id, p.retry (milliseconds), p.events (dispatched count)
-- Comments (":...") are skipped; multi-line data is joined with "\n";
-- events with empty data (priming events, keep-alives) are not delivered,
-- but their id still moves last_id, as the resumption rules need. An event
-- larger than max_event bytes (default M.MAX_EVENT, 64 MiB) stops the
-- parser: feed() returns nil and an mcptest.Error (kind "protocol"), now
-- and on every later call.
-- The scanning is C (runtime/sse.c): it is on every HTTP request's path.
local core = require("mcptest.core.sse")

local M = { MAX_EVENT = 64 * 1024 * 1024 }

function M.new(on_event, ctx, max_event)
  return core.new(on_event, ctx, max_event or M.MAX_EVENT)
end

return M
