// The production build's second step (after `nest build`): dist/main.js and dist/index.js, with the libraries
// they use, bundled and minified by esbuild into dist/bundle/. The image and `npm start` run
// dist/bundle/main.mjs. Why (README "Memory"): @kubernetes/client-node alone ships 60 MB of JavaScript, and
// every loaded module keeps its source text and its functions' metadata on the heap; tree-shaken and
// minified, the empty controller holds about 25 MiB less heap. Two kinds of package stay outside it:
// - NestJS's common and core packages (and reflect-metadata, rxjs): an extension module imports
//   @nestjs/common itself, and it must be the very copy the controller's container uses (NestJS's other
//   packages, the HTTP adapter, the scheduler and the health checks, are bundled like any library);
// - the packages NestJS requires only when a feature of theirs is used (microservices, validation), which
//   this project does not install.
// The backends' SDKs are bundled too, in chunks of their own that load on first use (aws-sdk-modules.ts).
// The public API (dist/bundle/index.mjs, the package's export) shares its chunks with main.mjs, so an
// extension and the controller see the same classes.
import { build } from 'esbuild';

const external = [
  '@nestjs/common',
  '@nestjs/common/*',
  '@nestjs/core',
  '@nestjs/core/*',
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets/*',
  'reflect-metadata',
  'rxjs',
  'rxjs/*',
  'class-transformer',
  'class-validator',
];

const result = await build({
  entryPoints: ['dist/main.js', 'dist/index.js'],
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  external,
  // Packages' ES module builds first (the AWS SDK ships both): a lazily imported CommonJS build would give the
  // bundle only a default export, where Node.js itself finds the named ones; ES modules also tree-shake.
  mainFields: ['module', 'main'],
  minify: true,
  // Class and function names stay as written: NestJS names providers in its errors, and logs name classes.
  keepNames: true,
  // Not loaded at run time (that would cost memory); for mapping a stack trace back by hand.
  sourcemap: 'external',
  legalComments: 'none',
  // The bundled CommonJS packages call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
const javascript = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
const bytes = javascript.reduce((sum, [, output]) => sum + output.bytes, 0);
console.error(
  `[bundle] dist/bundle: ${javascript.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB of JavaScript`,
);
