#!/usr/bin/env node
// The published entry point: the compiled CLI (run `npm run build` after editing TypeScript).
import '../dist/cli/main.js';
