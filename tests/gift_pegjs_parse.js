// Parse a GIFT file with the independent parser gift-pegjs (npm) and print its questions as JSON.
// Used by tests/test_exchange.py; run from the repository root: node tests/gift_pegjs_parse.js FILE
const fs = require("fs");
const path = require("path");
const { parse } = require(path.join(process.cwd(), "node_modules", "gift-pegjs", "lib", "gift-parser.js"));
const text = fs.readFileSync(process.argv[2], "utf8");
process.stdout.write(JSON.stringify(parse(text)));
