// virDomainDefineXMLFlags for the QEMU driver, and its replay after a crash.
//
// The define first records an intent in the config store's journal (the XML, the flags and a
// random seed) and starts its flush, then parses and fills in defaults while the disk works; its
// config file is formatted and written after the answer (a deferred save of the store).
// A synchronous client (virsh, python-libvirt) thus waits for max(flush, parse) rather than
// their sum, plus neither the formatting nor the file. The UUID and MACs a define generates come
// from the recorded seed (conf/common/random.ts), so that replaying an intent a crash left
// without its file (replayDefineIntents, at daemon start) makes the very definition the client
// may have been told about. See src/state/xml-journal-store.ts for the journal's side.

import { identifierBytes, seededRandom } from "../../conf/common/random.js";
import { VIR_DOMAIN_EVENT, VIR_DOMAIN_EVENT_DEFINED } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import type { StoreIntent } from "../../state/index.js";
import { isActive, newQemuDomain, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

/** What an intent record holds for a define (JSON). */
interface DefineIntent {
  /** "domain-define": `seed` seeds seededRandom() (xoshiro128**). */
  op: "domain-define";
  flags: number;
  /** 16 bytes, hex: the seed of the UUID and MACs the define generates. */
  seed: string;
  xml: string;
}

/** Defines (or redefines) a persistent domain from `xml`; resolves once the config is durable. */
export async function defineDomain(st: QemuDriverState, xml: string, flags: number): Promise<QemuDomain> {
  // A copy: the pool's bytes are drawn again after its next refill (other defines run while
  // this one waits for its intent). From the pool: a read of /dev/urandom per define was ~14 us.
  const seed = Buffer.from(identifierBytes(16));
  const rec: DefineIntent = { op: "domain-define", flags, seed: seed.toString("hex"), xml };
  const intent = await st.store.beginIntent(JSON.stringify(rec));
  return defineWith(st, xml, seed, intent);
}

async function defineWith(
  st: QemuDriverState,
  xml: string,
  seed: Uint8Array,
  intent: StoreIntent | undefined,
): Promise<QemuDomain> {
  try {
    const { def } = await st.parse(xml, seededRandom(seed));
    const byName = st.domains.byName(def.name);
    if (byName && byName.uuid !== def.uuid) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        `domain '${def.name}' is already defined with uuid ${byName.uuid}`,
      );
    }
    const byUuid = st.domains.byUuid(def.uuid);
    if (byUuid && byUuid.name !== def.name) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        `domain '${byUuid.name}' already exists with uuid ${def.uuid}`,
      );
    }
    if (byUuid) {
      return await st.jobs.run(byUuid.uuid, async () => {
        if (isActive(byUuid)) byUuid.newDef = def;
        else byUuid.def = def;
        const wasPersistent = byUuid.persistent;
        byUuid.persistent = true;
        await st.saveConfig(byUuid, intent);
        st.lifecycle(
          byUuid,
          VIR_DOMAIN_EVENT.DEFINED,
          wasPersistent ? VIR_DOMAIN_EVENT_DEFINED.UPDATED : VIR_DOMAIN_EVENT_DEFINED.ADDED,
        );
        return byUuid;
      });
    }
    const d = newQemuDomain(def);
    d.persistent = true;
    // Listed before the save is awaited, as libvirt's virDomainObjListAdd comes before its
    // virDomainDefSave: a second define of the name meanwhile finds it (and is refused or
    // redefines it) instead of making a second domain of the same name.
    st.domains.add(d);
    try {
      await st.saveConfig(d, intent);
    } catch (e) {
      st.domains.remove(d);
      throw e;
    }
    st.lifecycle(d, VIR_DOMAIN_EVENT.DEFINED, VIR_DOMAIN_EVENT_DEFINED.ADDED);
    return d;
  } catch (e) {
    // No replay may redo it (unless its save got as far as the commit record: then it is replayed
    // as any save whose record was written; see xml-journal-store.ts).
    if (intent) await st.store.endIntent(intent);
    throw e;
  }
}

/**
 * Replays the defines a crash left between their intent and their commit (in journal order), as
 * they ran: same XML, same seed. Returns why a replay failed, for the daemon's log.
 */
export async function replayDefineIntents(st: QemuDriverState): Promise<string[]> {
  const problems: string[] = [];
  for (const { intent, payload } of st.store.takeIntents()) {
    let rec: DefineIntent;
    try {
      rec = JSON.parse(payload) as DefineIntent;
      if (rec.op !== "domain-define" || typeof rec.xml !== "string" || !/^[0-9a-f]{32}$/.test(rec.seed)) {
        throw new Error("not a domain define");
      }
    } catch (e) {
      problems.push(`journal intent ${intent.id}: ${(e as Error).message}`);
      await st.store.endIntent(intent).catch(() => {});
      continue;
    }
    try {
      const d = await defineWith(st, rec.xml, Buffer.from(rec.seed, "hex"), intent);
      // Its file was not there for load() to find its autostart mark next to it.
      if (!d.autostart) d.autostart = await st.store.isAutostart(d.name);
    } catch (e) {
      problems.push(`replayed define: ${(e as Error).message}`);
    }
  }
  return problems;
}
