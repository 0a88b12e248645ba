import { type Command, Help, type Option } from 'commander';

const standard = new Help();

/**
 * Marks options the command cannot run without in `--help`, which commander
 * leaves unmarked. Subcommands copy the help configuration when they are made,
 * so this is set on the program before any command is added.
 */
export function markRequiredOptions(program: Command): Command {
  return program.configureHelp({
    optionDescription: (option: Option) => {
      const description = standard.optionDescription(option);
      return option.mandatory ? `${description} (required)` : description;
    },
  });
}
