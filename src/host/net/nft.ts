// Loads and removes our own nftables table with `nft -f -` (one transaction, so a bad ruleset
// changes nothing). Never touches tables it did not create.
import { type NetHostOptions, runNet } from "./exec.js";

/** Runs an nft script; `check` only validates it (`nft -c`). */
export async function nftLoad(script: string, o: NetHostOptions & { check?: boolean } = {}): Promise<void> {
  await runNet(["nft", ...(o.check ? ["-c"] : []), "-f", "-"], { ...o, input: script });
}

/** Deletes `family name` if present. */
export async function nftDeleteTable(family: string, name: string, o: NetHostOptions = {}): Promise<void> {
  await nftLoad(`table ${family} ${name}\ndelete table ${family} ${name}\n`, o);
}

/** `nft list table family name` text, or undefined when the table does not exist. */
export async function nftListTable(
  family: string,
  name: string,
  o: NetHostOptions = {},
): Promise<string | undefined> {
  try {
    return await runNet(["nft", "list", "table", family, name], o);
  } catch {
    return undefined;
  }
}
