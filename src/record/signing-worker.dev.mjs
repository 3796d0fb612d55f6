// Starts the signing worker from the TypeScript sources (tsx, vitest): a worker
// thread does not inherit the parent's loader, so it registers tsx's first.
// The build runs signing-worker.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./signing-worker.ts');
