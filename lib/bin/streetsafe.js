#!/usr/bin/env node
// Thin launcher: the CLI itself is compiled from lib/src/cli/main.ts by `npm run build`.
require("../dist/cli/main.js").main(process.argv.slice(2));
