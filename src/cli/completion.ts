import { type Command, Help, type Option } from 'commander';

/**
 * `hooklog completion bash|zsh`: a completion script made from the program's
 * own tree of commands and options, so that it knows every command as soon as
 * the command exists. The script holds one lookup function, the same in both
 * shells, and a small driver per shell that walks the words typed so far.
 */

const SHELLS = ['bash', 'zsh'] as const;
type Shell = (typeof SHELLS)[number];

/** Words safe to put in a script unquoted; anything else (none today) is left out of completion rather than break it. */
const WORD = /^[\w.,:=@+-]+$/;

export function completionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(hooklog completion bash), or see the README to install it')
    .addArgument(program.createArgument('<shell>', 'the shell').choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(shell === 'bash' ? bashScript(program) : zshScript(program));
    });
}

/** `case` entries of the lookup: `<kind>:<command path>` to the words that complete there. */
function lookupEntries(root: Command): string[] {
  const help = new Help();
  const entries: string[] = [];
  const add = (key: string, words: string[]) => {
    const safe = words.filter((word) => WORD.test(word));
    if (safe.length > 0) entries.push(`    '${key}') printf '%s\\n' '${safe.join(' ')}' ;;`);
  };
  const visit = (command: Command, path: string[], inherited: Option[]) => {
    const key = path.join(' ');
    // The program's options (--url, --token) also work after a subcommand; --version only on its own.
    const options = [...help.visibleOptions(command), ...inherited];
    add(
      `commands:${key}`,
      help.visibleCommands(command).map((sub) => sub.name()),
    );
    add(`options:${key}`, options.flatMap(flags));
    add(`valued:${key}`, options.filter(takesValue).flatMap(flags));
    for (const option of options) {
      if (option.argChoices) for (const flag of flags(option)) add(`choices:${key} ${flag}`, option.argChoices);
    }
    add(`arguments:${key}`, command.registeredArguments[0]?.argChoices ?? []);
    const passedOn = [...inherited, ...command.options.filter((option) => !option.hidden && option.long !== '--version')];
    for (const sub of command.commands) visit(sub, [...path, sub.name()], passedOn);
  };
  visit(root, [], []);
  return entries;
}

const flags = (option: Option) => [option.short, option.long].filter((flag): flag is string => flag !== undefined);
const takesValue = (option: Option) => option.required || option.optional;

function lookup(root: Command): string {
  return `__hooklog_lookup() {\n  case "$1" in\n${lookupEntries(root).join('\n')}\n  esac\n}\n`;
}

/**
 * The shared walk over the words before the cursor: `cmdpath` becomes the
 * subcommands typed, and `prev` the option whose value is being typed. A
 * valued option's value is skipped, so it is never taken for a subcommand.
 * (zsh's `path` is PATH itself, hence `cmdpath`.)
 */
function walk(words: string, first: number, current: string): string {
  return `  local cur="\${${words}[${current}]}" prev="" cmdpath="" word i
  for ((i = ${first}; i < ${current}; i++)); do
    word="\${${words}[i]}"
    case "$word" in
      -*=*) ;;
      -*)
        if [[ " $(__hooklog_lookup "valued:$cmdpath") " == *" $word "* ]]; then
          if ((i == ${current} - 1)); then prev="$word"; fi
          i=$((i + 1))
        fi ;;
      *)
        if [[ " $(__hooklog_lookup "commands:$cmdpath") " == *" $word "* ]]; then cmdpath="\${cmdpath:+$cmdpath }$word"; fi ;;
    esac
  done
  local candidates
  if [[ -n "$prev" ]]; then
    candidates="$(__hooklog_lookup "choices:$cmdpath $prev")"
  elif [[ "$cur" == -* ]]; then
    candidates="$(__hooklog_lookup "options:$cmdpath")"
  else
    candidates="$(__hooklog_lookup "commands:$cmdpath") $(__hooklog_lookup "arguments:$cmdpath")"
  fi
`;
}

function bashScript(root: Command): string {
  return `# hooklog bash completion: source <(hooklog completion bash)
${lookup(root)}
_hooklog() {
${walk('COMP_WORDS', 1, 'COMP_CWORD')}  mapfile -t COMPREPLY < <(compgen -W "$candidates" -- "$cur")
}
# -o default: where hooklog has nothing to offer (an id, a secret), the shell completes file names.
complete -o default -F _hooklog hooklog
`;
}

function zshScript(root: Command): string {
  return `#compdef hooklog
# hooklog zsh completion: save as _hooklog in a directory of $fpath, or source <(hooklog completion zsh) after compinit
${lookup(root)}
_hooklog() {
${walk('words', 2, 'CURRENT')}  compadd -- \${=candidates}
}

if [[ "\${funcstack[1]}" == _hooklog ]]; then _hooklog "$@"; else compdef _hooklog hooklog; fi
`;
}
