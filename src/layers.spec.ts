import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

/** The lint rules that keep the layers' import direction (eslint.config.js), tried on imports that break it. */
describe('the import direction between layers', () => {
  const eslint = new ESLint({ cwd: root });
  const violations = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
    return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').length;
  };

  it.each([
    { file: 'src/kubernetes/secret.store.ts', from: '../sync/work-queue.js', refused: true },
    { file: 'src/backends/value-fetcher.service.ts', from: '../sync/reconciler.service.js', refused: true },
    { file: 'src/backends/aws/aws-clients.service.ts', from: '../../sync/sync-failure.js', refused: true },
    { file: 'src/domain/secret-data.ts', from: '../backends/backend-errors.js', refused: true },
    { file: 'src/domain/secret-data.ts', from: '../config/controller-config.js', refused: true },
    { file: 'src/kubernetes/secret.store.ts', from: '../domain/secret-manifest.js', refused: false },
    { file: 'src/sync/sync.service.ts', from: '../kubernetes/secret.store.js', refused: false },
    { file: 'src/domain/secret-data.ts', from: './template.js', refused: false },
  ])(
    '$file importing $from: refused $refused',
    async ({ file, from, refused }) => {
      const code = `import * as imported from '${from}';\nexport const used = imported;\n`;
      expect(await violations(file, code)).toBe(refused ? 1 : 0);
    },
    30_000,
  );
});
