import { runCli } from './cli/run.js';

// `npm start`: the same as `caduceus serve`, so start-up failures print one safe line, never a stack.
process.exitCode = await runCli(['serve']);
