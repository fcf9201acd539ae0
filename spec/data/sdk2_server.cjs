// A small MCP server on the official TypeScript SDK v2
// (@modelcontextprotocol/server, pinned in scripts/npm-sdk2; installed into
// .deps/npm-sdk2 by scripts/deps.sh), served over stdio by the SDK's own
// serveStdio, which picks the era from the opening message.
//   node sdk2_server.cjs DEPS_DIR [dual|modern|http]
// dual (default): both eras; modern: legacy openings are rejected (-32022);
// http: the SDK's createMcpHandler on 127.0.0.1 (any free port) behind a
// few lines of node:http, its URL (…/mcp) printed as the first line.
// Tools: echo, ask (an input_required elicitation), sample (an
// input_required sampling request), grow (registers a tool: list_changed
// to subscriptions/listen); a resource and a prompt.
const { createRequire } = require("node:module");
const path = require("node:path");
const dir = process.argv[2];
const req = createRequire(path.join(path.resolve(dir), "package.json"));
const { McpServer, inputRequired, acceptedContent, inputResponse, createMcpHandler } = req("@modelcontextprotocol/server");
const { serveStdio } = req("@modelcontextprotocol/server/stdio");
const z = req("zod");
const mode = process.argv[3] || "dual";

function makeServer() {
  const server = new McpServer({ name: "sdk2-interop", version: "1.0.0" },
    { capabilities: { tools: {}, resources: {}, prompts: {} } });
  server.registerTool("echo", { description: "Echoes the message.", inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  server.registerTool("ask", { description: "Asks the user's name (elicitation).", inputSchema: z.object({}) },
    async (_args, ctx) => {
      const got = acceptedContent(ctx.mcpReq.inputResponses, "name");
      if (!got) {
        return inputRequired({ inputRequests: { name: inputRequired.elicit({ mode: "form", message: "Your name?",
          requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } }) } });
      }
      return { content: [{ type: "text", text: "hello " + got.name }] };
    });
  server.registerTool("sample", { description: "Asks the client's model (sampling).", inputSchema: z.object({}) },
    async (_args, ctx) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, "llm");
      if (view.kind !== "sampling") {
        return inputRequired({ inputRequests: { llm: inputRequired.createMessage({ maxTokens: 10,
          messages: [{ role: "user", content: { type: "text", text: "say hi" } }] }) } });
      }
      return { content: [{ type: "text", text: "model said " + view.result.content.text }] };
    });
  let grown = 0; // grow: a new tool, so the SDK tells listeners tools/list changed
  server.registerTool("grow", { description: "Registers one more tool (tools list_changed).", inputSchema: z.object({}) },
    async () => {
      grown += 1;
      const name = "grown" + grown;
      server.registerTool(name, { description: "Grown.", inputSchema: z.object({}) },
        async () => ({ content: [{ type: "text", text: name }] }));
      return { content: [{ type: "text", text: "added " + name }] };
    });
  server.registerResource("readme", "sdk2://readme", { mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "sdk2 readme" }] }));
  server.registerPrompt("greet", { description: "Greets.", argsSchema: z.object({ name: z.string() }) },
    async ({ name }) => ({ messages: [{ role: "user", content: { type: "text", text: "greet " + name } }] }));
  return server;
}

if (mode === "http") {
  const http = require("node:http");
  const handler = createMcpHandler(makeServer);
  const srv = http.createServer(async (inc, out) => {
    const chunks = [];
    for await (const c of inc) chunks.push(c);
    const headers = new Headers();
    for (const [k, v] of Object.entries(inc.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    const body = inc.method === "GET" || inc.method === "HEAD" ? undefined : Buffer.concat(chunks);
    const res = await handler.fetch(new Request("http://127.0.0.1" + inc.url, { method: inc.method, headers, body }));
    out.writeHead(res.status, Object.fromEntries(res.headers.entries()));
    if (res.body) for await (const c of res.body) out.write(c);
    out.end();
  });
  srv.listen(0, "127.0.0.1", () => console.log("http://127.0.0.1:" + srv.address().port + "/mcp"));
  process.stdin.on("end", () => process.exit(0)); // stops with its parent
  process.stdin.resume();
} else {
  serveStdio(makeServer, { legacy: mode === "modern" ? "reject" : "serve" });
}
