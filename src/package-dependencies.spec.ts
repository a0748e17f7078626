import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const manifest = (path: string) =>
  JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|js)$/.test(file) && !/\.spec\.ts$/.test(file))
    .map((file) => join(root, folder, file));
}

describe('package.json', () => {
  it('has no runtime dependency that the controller neither imports nor a dependency of it needs as a peer', () => {
    const dependencies = Object.keys(manifest('.').dependencies ?? {});
    const code = sourceFiles('src')
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const imported = (name: string) =>
      new RegExp(`(from |import |import\\()'${name.replace(/[/.]/g, '\\$&')}(/[^']*)?'`).test(code);
    // A peer dependency (rxjs of @nestjs/common, the HTTP platform of @nestjs/core) is installed for another one.
    const peers = new Set(
      dependencies.flatMap((name) => Object.keys(manifest(`node_modules/${name}`).peerDependencies ?? {})),
    );
    const unused = dependencies.filter((name) => !imported(name) && !peers.has(name));
    expect(unused).toEqual([]);
  });
  it('lists every package the controller and kes import as a runtime dependency (the image installs no dev ones)', () => {
    const dependencies = new Set(Object.keys(manifest('.').dependencies ?? {}));
    const imports = sourceFiles('src').flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/(?:from |import |import\()'([^'.][^']*)'/g)].map(
        (match) => match[1]!,
      ),
    );
    const packages = new Set(
      imports
        .filter((name) => !name.startsWith('node:'))
        .map((name) => (name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!)),
    );
    expect([...packages].filter((name) => !dependencies.has(name))).toEqual([]);
  });
});
