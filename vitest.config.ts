import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: crash tests and chain tests spawn child processes; keep the pool small.
    maxWorkers: 2,
  },
});
