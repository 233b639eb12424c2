import { supportedNode } from './cli/node-check.js';

// `node dist/main.js`: the same as `caduceus serve`, so start-up failures print one safe line, never a stack.
// Everything else is imported only once the runtime check has passed: on an old Node it fails without naming Node.
if (supportedNode()) {
  const { runCli } = await import('./cli/run.js');
  process.exitCode = await runCli(['serve']);
}
