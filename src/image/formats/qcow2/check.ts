// Placeholder: qcow2 consistency check (filled in next).
import type { CheckResult } from "../../image.js";
import type { Qcow2Image } from "./qcow2-image.js";

export async function checkQcow2(
  _img: Qcow2Image,
  _opts: { repair?: "leaks" | "all" } = {},
): Promise<CheckResult> {
  return { corruptions: 0, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, messages: [] };
}
