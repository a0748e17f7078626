import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the sources so that NestJS's decorator metadata (constructor injection) is emitted;
// Vite's default transform drops it.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts', 'bench/**/*.spec.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e-spec.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        // The chart on a real node (test/node/run.sh runs it inside the node's namespaces): one user's day, in order.
        test: {
          name: 'node',
          include: ['test/node/**/*.node-spec.ts'],
          environment: 'node',
          testTimeout: 360_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
