/** Where a command writes and what it may know about its terminal; `process` in the binary, fakes nowhere (tests run the binary). */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or --no-color. */
export function useColor(stream: { isTTY?: boolean }, env: Io['env'], disabled: boolean): boolean {
  return !disabled && stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export interface Style {
  readonly green: (text: string) => string;
  readonly red: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain = (text: string) => text;

export function style(color: boolean): Style {
  if (!color) return { green: plain, red: plain, yellow: plain, dim: plain, bold: plain };
  return { green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

/** The width a terminal shows (escape sequences take none). */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;
}
