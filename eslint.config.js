import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.stack/', '.bench-build/', '.node/', '.stack-node/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // No promise may be left unobserved: an unhandled rejection ends the process. `void` does not count as
      // handling one, so fire-and-forget work must say what happens to its failure.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  // The layers (README, "How a sync works"): domain/ is the ground floor and imports nothing of the app; the I/O
  // layers and the process plumbing never import sync/, the layer that uses them.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '@nestjs/*'],
              message:
                'domain/ is the ground floor: it imports only itself (and types of @kubernetes/client-node).',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/kubernetes/**/*.ts',
      'src/backends/**/*.ts',
      'src/config/**/*.ts',
      'src/logging/**/*.ts',
      'src/lifecycle/**/*.ts',
      'src/metrics/**/*.ts',
      'src/health/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/sync/*', '**/sync'],
              message: 'sync/ uses this layer, never the reverse: move what both need to domain/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
