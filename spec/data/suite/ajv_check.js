// Validates [schema, instance] pairs with ajv's JSON Schema 2020-12 mode;
// prints a JSON array of booleans. Used by spec/suite/jsonschema_spec.lua
// to test mcptest.jsonschema differentially.
//   node ajv_check.js AJV_DIR PAIRS.json
const Ajv2020 = require(process.argv[2] + "/dist/2020").default;
const fs = require("fs");
const pairs = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const ajv = new Ajv2020({ strict: false, validateFormats: false });
const out = pairs.map(([schema, instance]) => ajv.validate(schema, instance));
process.stdout.write(JSON.stringify(out));
