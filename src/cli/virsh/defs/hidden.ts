// virsh 9.0's commands that 'virsh help' does not list (VSH_CMD_FLAG_ALIAS): the two internal
// commands of the 'virsh' group, and the old names kept as aliases of renamed commands. Texts as
// `virsh help complete` / `virsh help self-test` print them.
import type { CmdSpec } from "../command.js";

/** Hidden commands by group keyword. */
export const hiddenSpecs: Record<string, CmdSpec[]> = {
  virsh: [
    {
      name: "complete",
      info: "internal command for autocompletion",
      desc: "internal use only",
      opts: [["string", "v", "partial string to autocomplete"]],
    },
    {
      name: "self-test",
      info: "internal command for testing virt shells",
      desc: "internal use only",
      opts: [["completers-missing", "b", "output the list of options which are missing completers"]],
    },
  ],
};

/** Alias name -> the command it runs (and whose help it shows). */
export const commandAliases: Record<string, string> = {
  "nodedev-dettach": "nodedev-detach",
};
