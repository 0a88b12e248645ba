/** One instruction of a Dockerfile: `COPY --from=build /app/dist ./dist` is { op: 'COPY', flags: { from: 'build' }, args: […] }. */
export interface Instruction {
  op: string;
  flags: Record<string, string>;
  /** The arguments after the flags: the JSON array's items in exec form, else split on whitespace. */
  args: string[];
  /** The text after the instruction (and its flags), as the shell would get it in shell form. */
  text: string;
}

export interface Stage {
  /** The `AS` name; the last stage, the image itself, may have none. */
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

/**
 * Reads a Dockerfile into its stages, enough to check what it copies and run
 * what it runs: comments, line continuations, `--flag=value` and exec form.
 */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const line of lines.map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [, op, rest] = /^(\S+)\s*(.*)$/.exec(line) as RegExpExecArray;
    const flags: Record<string, string> = {};
    let body = rest!;
    for (let flag = /^--([\w-]+)=(\S+)\s*/.exec(body); flag; flag = /^--([\w-]+)=(\S+)\s*/.exec(body)) {
      flags[flag[1]!] = flag[2]!;
      body = body.slice(flag[0].length);
    }
    const args = body.startsWith('[') ? (JSON.parse(body) as string[]) : body.split(/\s+/).filter(Boolean);
    const instruction = { op: op!.toUpperCase(), flags, args, text: body };
    if (instruction.op === 'FROM') {
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({ name: as >= 0 ? args[as + 1] : undefined, base: args[0]!, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** The ENV instruction's pairs (`ENV A=1 B=2`, with the continuation lines joined). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.op === 'ENV')) {
    for (const pair of args) {
      const at = pair.indexOf('=');
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return env;
}
