// The official TypeScript SDK v2's own skills extension
// (@modelcontextprotocol/server's ext/skills, SEP-2640; .deps/npm-sdk2)
// serving two skills from memory over stdio, both eras, so the client's
// c:list_skills()/c:load_skill() are held to an implementation mcptest did
// not write.   node sdk2_skills_server.cjs DEPS_DIR
const { createRequire } = require("node:module");
const path = require("node:path");
const req = createRequire(path.join(path.resolve(process.argv[2]), "package.json"));
const { McpServer } = req("@modelcontextprotocol/server");
const { serveStdio } = req("@modelcontextprotocol/server/stdio");
const { SkillsExtension, memorySkillFiles } = req("@modelcontextprotocol/server/ext/skills");

const FILES = {
  "hello/SKILL.md": "---\nname: hello\ndescription: Greets the user by name.\n---\n\n# Hello\n",
  "summarize/SKILL.md": "---\nname: summarize\ndescription: >\n  Summarizes a text\n  in the house style.\n"
    + "metadata:\n  author: sdk2\n  version: \"1.0\"\nallowed-tools: [Read, Grep]\n---\n\nSee references/STYLE.md.\n",
  "summarize/references/STYLE.md": "# House style\n\nThree sentences at most.\n",
};

(async () => {
  const skills = await SkillsExtension.load(memorySkillFiles(FILES), { strict: true });
  serveStdio(() => {
    const server = new McpServer({ name: "sdk2-skills", version: "1.0.0" }, { capabilities: { resources: {} } });
    skills.attach(server);
    return server;
  }, { legacy: "serve" });
})().catch((e) => { console.error(e); process.exit(1); });
