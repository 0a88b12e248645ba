import { InvalidArgumentError } from 'commander';

/** How commands that show tables print: JSON when piped or with --json, tables on a terminal, so what scripts read stays stable. */
export interface Output {
  json?: boolean;
}

export const wantsJson = (opts: Output) => opts.json === true || !process.stdout.isTTY;

/** Columns padded to their widest cell. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((row) => row.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return `${cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** Prints JSON, or `text` of it on a terminal; nothing is left for `action` to print. */
export function show(opts: Output, value: unknown, text: () => string): undefined {
  process.stdout.write(wantsJson(opts) ? `${JSON.stringify(value, null, 2)}\n` : text());
  return undefined;
}

/** A time as microseconds since the epoch, or as a date the JavaScript Date parses (2026-11-24T10:00:00Z). */
export function time(flag: string) {
  return (raw: string): number => {
    if (/^\d+$/.test(raw)) return Number(raw);
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) throw new InvalidArgumentError(`${flag} must be microseconds since the epoch or a date such as 2026-11-24T10:00:00Z`);
    return ms * 1000;
  };
}
