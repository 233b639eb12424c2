#!/usr/bin/env node
import { supportedNode } from './node-check.js';

// Everything else is imported only once the runtime check has passed: on an old Node it fails without naming Node.
if (supportedNode()) {
  const { runCli } = await import('./run.js');
  process.exitCode = await runCli(process.argv.slice(2));
}
