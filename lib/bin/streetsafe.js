#!/usr/bin/env node
// Thin launcher: the CLI itself is compiled from lib/src/cli.ts by `npm run build`.
require("../dist/cli.js").main(process.argv.slice(2));
