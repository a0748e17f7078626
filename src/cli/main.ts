#!/usr/bin/env node
// `kes` and `kubectl-kes` (a kubectl plugin by its name): the command line of README "Command line".
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { runCli } from './program.js';

const exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  color: process.stdout.isTTY === true && !process.env.NO_COLOR,
  readStdin: () => readFileSync(0, 'utf8'),
});
process.exitCode = exitCode;
