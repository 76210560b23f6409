// The test driver's whole in-memory host (libvirt's testDriver): node info, NUMA cells, and
// the lists of domains, networks, pools, interfaces and node devices, plus event queues.
// One instance per test:///default connection, as libvirt gives each open a fresh node.

import type { NetworkDef } from "../../conf/network/index.js";
import type {
  DomainEvent,
  NetworkEvent,
  NodeDeviceEvent,
  NodeInfo,
  StoragePoolEvent,
} from "../../driver/index.js";
import { EventQueue, JobLocks, ObjectList } from "../../state/index.js";
import type { TestDomain } from "./domain-obj.js";
import type { TestPool } from "./storage-obj.js";

export interface TestCell {
  /** KiB. */
  mem: number;
  freeMem: number;
  cpus: { id: number; socketId: number; dieId: number; coreId: number; siblings: string }[];
}

export interface TestNetwork {
  name: string;
  uuid: string;
  def: NetworkDef;
  /** Persistent definition while active with live changes (virNetworkObj.newDef). */
  newDef?: NetworkDef;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

export interface TestIface {
  name: string;
  mac: string;
  active: boolean;
  /** The interface XML as formatted (libvirt's test driver keeps and prints virInterfaceDef). */
  xml: string;
}

export interface TestNodeDev {
  name: string;
  parent?: string;
  /** Capability type names, outermost first, nested fc_host / vport_ops included. */
  caps: string[];
  xml: string;
  wwnn?: string;
  wwpn?: string;
}

export const DEFAULT_NODE_INFO: NodeInfo = {
  model: "i686",
  memory: 3 * 1024 * 1024,
  cpus: 16,
  mhz: 1400,
  nodes: 2,
  sockets: 2,
  cores: 2,
  threads: 2,
};

/**
 * One delivery order for every kind of event, as libvirt's test driver queues domain, network,
 * pool and node-device events on a single virObjectEventState: a client sees them in the order
 * the calls made them, not grouped by kind.
 */
class EventOrder {
  private readonly pending: (() => void)[] = [];
  private scheduled = false;

  add(deliver: () => void): void {
    this.pending.push(deliver);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const deliver of this.pending.splice(0)) deliver();
    });
  }
}

/** An EventQueue whose events wait their turn in the node's EventOrder. */
class OrderedEventQueue<E extends { eventId: number }> extends EventQueue<E> {
  constructor(
    keyOf: (ev: E) => string,
    private readonly order: EventOrder,
  ) {
    super(keyOf);
  }

  override emit(ev: E): void {
    if (this.registrations === 0) return;
    this.order.add(() => {
      super.emit(ev);
      this.flush();
    });
  }
}

export class TestNode {
  nodeInfo: NodeInfo = { ...DEFAULT_NODE_INFO };
  cells: TestCell[] = [];
  nextDomId = 1;
  readonly domains = new ObjectList<TestDomain>();
  readonly networks = new ObjectList<TestNetwork>();
  readonly pools = new ObjectList<TestPool>();
  ifaces: TestIface[] = [];
  /** Saved interface list during interfaceChangeBegin..Commit/Rollback. */
  backupIfaces?: TestIface[];
  devs: TestNodeDev[] = [];
  private readonly eventOrder = new EventOrder();
  readonly domainEvents = new OrderedEventQueue<DomainEvent>((e) => e.dom.uuid, this.eventOrder);
  readonly networkEvents = new OrderedEventQueue<NetworkEvent>((e) => e.net.uuid, this.eventOrder);
  readonly poolEvents = new OrderedEventQueue<StoragePoolEvent>((e) => e.pool.uuid, this.eventOrder);
  readonly nodedevEvents = new OrderedEventQueue<NodeDeviceEvent>((e) => e.dev.name, this.eventOrder);
  /** Per-object job locks for slots that wait on I/O (save, restore, core dump). */
  readonly jobs = new JobLocks();

  /** The default NUMA layout (testBuildCapabilities): cells of nodeInfo's geometry. */
  buildCells(): void {
    const ni = this.nodeInfo;
    const perCell = Math.floor(ni.cpus / Math.max(1, ni.nodes));
    this.cells = [];
    for (let i = 0; i < ni.nodes; i++) {
      const mem = 2048 * 1024 * (i + 1);
      const cpus = [];
      for (let j = 0; j < perCell; j++) {
        const id = i * perCell + j;
        cpus.push({ id, socketId: i, dieId: 0, coreId: j, siblings: String(id) });
      }
      // libvirt's default cells report half their memory free.
      this.cells.push({ mem, freeMem: mem / 2, cpus });
    }
  }

  allocDomId(): number {
    return this.nextDomId++;
  }
}
