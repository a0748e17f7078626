import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** The current end of a log file: pass it to forEachLine later to read only what was appended since. */
export function logMark(path: string): number {
  return statSync(path).size;
}

/**
 * Calls `visit` with every line of a log file after byte `offset` (all of it if the file was rotated and is
 * shorter than that now). Reads in chunks: the stack's audit logs outgrow the largest string V8 can hold.
 */
export function forEachLine(path: string, offset: number, visit: (line: string) => void): void {
  const file = openSync(path, 'r');
  try {
    const size = fstatSync(file).size;
    let position = size >= offset ? offset : 0;
    let carried = Buffer.alloc(0);
    const chunk = Buffer.alloc(8 * 2 ** 20);
    while (position < size) {
      const read = readSync(file, chunk, 0, Math.min(chunk.length, size - position), position);
      if (read === 0) break;
      position += read;
      let text = Buffer.concat([carried, chunk.subarray(0, read)]);
      let newline = text.indexOf(10);
      while (newline !== -1) {
        if (newline > 0) visit(text.subarray(0, newline).toString('utf8'));
        text = text.subarray(newline + 1);
        newline = text.indexOf(10);
      }
      carried = Buffer.from(text);
    }
    if (carried.length > 0) visit(carried.toString('utf8'));
  } finally {
    closeSync(file);
  }
}
